"""The chart of accounts and the kinds of transfer, shared by the features.

Every municipality is one ledger partition. Money enters from its external
funding source into its fund (a top-up), is reserved onto vouchers when
passes are issued, moves to a merchant's payable when redeemed, to settlement
clearing when a batch is approved, and out to the bank when the batch is
paid. Unused balances return to the fund at year end.
"""
from __future__ import annotations

# Account kinds
SOURCE = "source"  # external funding (Rijk, own budget); may go negative: money entering
FUND = "fund"  # the municipality's budget not yet awarded
VOUCHER = "voucher"  # one child's budget, punch card or cheque
MERCHANT_PAYABLE = "merchant_payable"  # owed to one provider, not yet settled
CLEARING = "clearing"  # approved for payment, not yet executed by the bank
BANK = "bank"  # paid out through the municipality's bank account
EXPIRED = "expired_returns"  # unused balances returned at year end, on their way back to the fund

# Transfer kinds
TOPUP = "topup"
ISSUE = "issue"
REDEEM = "redeem"
SETTLE = "settle"
PAYOUT = "payout"
BANK_RETURN = "bank_return"  # a paid settlement payment the bank sent back: bank account → clearing
EXPIRE = "expire"
RETURN = "return"
CARRY_OVER = "carry_over"


def source_key(code: str) -> str:
    return f"{code}:source"


def fund_key(code: str) -> str:
    return f"{code}:fund"


def clearing_key(code: str) -> str:
    return f"{code}:clearing"


def bank_key(code: str) -> str:
    return f"{code}:bank"


def expired_key(code: str) -> str:
    return f"{code}:expired"


def voucher_key(code: str, voucher_id: int) -> str:
    return f"{code}:voucher:{voucher_id}"


def merchant_key(code: str, merchant_id: int) -> str:
    return f"{code}:merchant:{merchant_id}"


#: The accounts every municipality has from the start: (key maker, kind, non-negative).
MUNICIPALITY_ACCOUNTS = (
    (source_key, SOURCE, False),
    (fund_key, FUND, True),
    (clearing_key, CLEARING, True),
    (bank_key, BANK, True),
    (expired_key, EXPIRED, True),
)

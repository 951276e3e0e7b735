"""The chart of accounts and the kinds of transfer, shared by the features.

Every municipality is one ledger partition. Money enters from its external
funding source into its fund (a top-up), is reserved onto vouchers when
passes are issued, moves to a merchant's payable when redeemed, to settlement
clearing when a batch is approved, and out to the bank when the batch is
paid. Unused balances return to the fund at year end.

A cooperation of municipalities (``pasdienst/cooperations/``) changes none of
this: a child's money stays in its own municipality's partition wherever it
is spent. A merchant of the cooperation has a payable in every member's
partition (the same key, ``<member>:merchant:<id>``), credited by that
member's children. When the cooperation pays the merchants from one account,
each member's share leaves its clearing for its ``remitted`` account
(``remit_to_cooperation``) and enters the cooperation's own partition
(``sv.<code>``) from that member's ``cooperation_share`` account
(``received_from_member``): two labelled transfers, one in each partition,
recorded together (``cooperation_remittance``), never one that crosses.
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
REMIT = "remit_to_cooperation"  # a member's clearing → its remitted account: its share of a cooperation's payment run
RECEIVE = "received_from_member"  # in the cooperation's partition: the member's share account → cooperation clearing
# Maatwerk (``pasdienst/maatwerk/``): a team's award is an ``issue`` from the fund like any voucher,
# withdrawn by ``expire`` + ``return`` like a voucher at year end; a fund's own money moves by these.
FUND_TOPUP = "fund_topup"  # a fund's own source → its account: money the fund brought in
FUND_AWARD = "fund_award"  # a fund's account → a voucher it awarded
FUND_RETURN = "fund_return"  # a withdrawn fund award's unspent rest → back to the fund's account

# Account kinds of cooperations
REMITTED = "remitted"  # in a member's partition: handed to its cooperation to pay merchants with
COOPERATION_SHARE = "cooperation_share"  # in a cooperation's partition: what one member handed over (negative, as a source)

# Account kinds of funds (intermediary organisations), in the municipality's partition
FUND_ORG = "fund_org"  # a fund's money not yet awarded (non-negative)
FUND_ORG_SOURCE = "fund_org_source"  # what a fund brought in (negative, as a source)


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


def fund_org_key(code: str, fund_id: int) -> str:
    return f"{code}:fundorg:{fund_id}"


def fund_org_source_key(code: str, fund_id: int) -> str:
    return f"{code}:fundorg:{fund_id}:source"


def cooperation_ledger(code: str) -> str:
    """A cooperation's partition: ``sv.<code>`` (no municipality code holds a dot)."""
    return f"sv.{code}"


def remitted_key(member_code: str, cooperation_code: str) -> str:
    return f"{member_code}:remitted:{cooperation_code}"


def share_key(cooperation_code: str, member_code: str) -> str:
    return f"{cooperation_ledger(cooperation_code)}:member:{member_code}"


#: The accounts every municipality has from the start: (key maker, kind, non-negative).
MUNICIPALITY_ACCOUNTS = (
    (source_key, SOURCE, False),
    (fund_key, FUND, True),
    (clearing_key, CLEARING, True),
    (bank_key, BANK, True),
    (expired_key, EXPIRED, True),
)

#: The accounts every cooperation has (key maker of its code, kind, non-negative).
COOPERATION_ACCOUNTS = (
    (lambda code: clearing_key(cooperation_ledger(code)), CLEARING, True),
    (lambda code: bank_key(cooperation_ledger(code)), BANK, True),
)

"""Year end: the year's passes expire and every unused cent returns to the fund.

Each voucher with a balance sends it to the municipality's ``expired``
account (one ``expire`` transfer per voucher, so the books show what lapsed
where), then one ``return`` transfer moves the total back to the fund, in the
same transaction. What the run looks at is state, not history: passes still
active or blocked, vouchers still holding money. A second run finds neither
and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import books, ledger
from ..clock import now_utc
from ..ledger.models import Account
from ..ledger.services import NewTransfer
from ..money import format_euros
from ..municipalities.services import get_municipality
from ..settlement.claims import lock_municipality
from .errors import PassStateConflict
from .models import ACTIVE, BLOCKED, EXPIRED, ChildPass, Voucher
from .schemes import get_scheme


@dataclass(frozen=True)
class YearEndResult:
    municipality: str
    year: int
    passes_expired: int
    vouchers_emptied: int
    returned_cents: int

    def summary(self) -> str:
        return (
            f"year end {self.municipality} {self.year}: {self.passes_expired} passes expired, "
            f"{format_euros(self.returned_cents)} from {self.vouchers_emptied} vouchers returned to the fund"
        )


def close_year(session: Session, municipality_code: str, year: int, *, today: date) -> YearEndResult:
    """Expire the year's passes and return their unused balances to the fund.

    Refused while the year's passes are still valid (until their
    ``valid_until``, inclusive).
    """
    municipality = get_municipality(session, municipality_code)
    scheme = get_scheme(session, municipality.id, year, code=municipality.code)
    if today <= scheme.valid_until:
        raise PassStateConflict(
            f"the {year} passes of {municipality.code} are valid until {scheme.valid_until}; "
            f"year end can run from {scheme.valid_until + timedelta(days=1)}"
        )
    now = now_utc()
    # Voids and corrections give money back onto vouchers and then read
    # whether the year is closed (wallet/lifecycle.py follow_child): they
    # hold this lock, so each sees the year either open (and this run sweeps
    # what it gave back) or closed (and it returns the money to the fund).
    lock_municipality(session, municipality.id)
    # The accounts, then the passes (lock order, docs/ARCHITECTURE.md).
    holding = session.execute(
        select(Voucher.id, Account.id, Account.balance)
        .join(ChildPass, ChildPass.id == Voucher.pass_id)
        .join(Account, Account.id == Voucher.account_id)
        .where(ChildPass.municipality_id == municipality.id, ChildPass.year == year, Account.balance > 0)
        .order_by(Account.id)
        .with_for_update(of=Account)
    ).all()
    expired = session.execute(
        update(ChildPass)
        .where(
            ChildPass.municipality_id == municipality.id,
            ChildPass.year == year,
            ChildPass.status.in_((ACTIVE, BLOCKED)),
        )
        .values(status=EXPIRED, expired_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    total = sum(int(balance) for _vid, _aid, balance in holding)
    if holding:
        expired_account = ledger.get_account(session, books.expired_key(municipality.code))
        fund = ledger.get_account(session, books.fund_key(municipality.code))
        ledger.post_many(
            session,
            [
                NewTransfer.move(
                    books.EXPIRE, account_id, expired_account.id, int(balance), reference=f"year end {year} voucher {vid}"
                )
                for vid, account_id, balance in holding
            ],
            now=now,
        )
        ledger.transfer(
            session, kind=books.RETURN, source=expired_account.id, destination=fund.id, amount=total,
            reference=f"year end {year}: unused balances back to the fund", now=now,
        )
    return YearEndResult(municipality.code, year, expired, len(holding), total)

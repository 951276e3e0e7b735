"""What an issuing run would do now, counted without writing anything: the
issue page's preview before an admin starts the run (``jobs/views.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from .. import books, ledger
from ..config import Settings
from ..municipalities.services import get_municipality
from .issuing import IssueResult, plan_run
from .schemes import get_scheme


@dataclass
class IssuePreview:
    """What :func:`issue_passes` would do now, without writing anything."""

    municipality: str
    year: int
    passes: int
    not_eligible: int
    #: Per voucher kind: how many vouchers and how much money.
    by_kind: dict[str, tuple[int, int]]
    needed_cents: int
    available_cents: int
    #: The scheme's year is over: nothing can be issued for it.
    year_over: bool

    @property
    def shortfall_cents(self) -> int:
        return max(0, self.needed_cents - self.available_cents)


def preview_issue(session: Session, municipality_code: str, year: int, *, settings: Settings, today: date) -> IssuePreview:
    """Count the passes, vouchers and money an issuing run would take now (a read-only plan)."""
    municipality = get_municipality(session, municipality_code)
    scheme = get_scheme(session, municipality.id, year, code=municipality.code)
    fund = ledger.get_account(session, books.fund_key(municipality.code))
    result = IssueResult(municipality.code, year)
    plans = plan_run(session, municipality, scheme, settings, fund.id, result, today=today)
    by_kind: dict[str, tuple[int, int]] = {}
    for plan in plans:
        for voucher in plan.vouchers:
            count, cents = by_kind.get(voucher.kind, (0, 0))
            by_kind[voucher.kind] = (count + 1, cents + voucher.cents)
    return IssuePreview(
        municipality=municipality.code, year=year, passes=len(plans), not_eligible=result.not_eligible,
        by_kind=by_kind, needed_cents=sum(cents for _, cents in by_kind.values()),
        available_cents=ledger.balance(session, fund.id), year_over=today > scheme.valid_until,
    )

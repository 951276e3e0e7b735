"""Maatwerk in figures: awards per team and per fund, and each award with what was spent from it.

* **awards**: how many a team or fund made in the year, withdrawn ones included.
* **awarded**: what they hold on to: each award's amount less what its
  withdrawal returned (the same sum that counts against a team's budget).
* **spent**: redemptions that count (the ``counted`` condition the caller
  passes, ``usage.counted``: not voided, not taken back by a settlement
  correction) from the award's voucher and, after a reissue, its successors
  (they carry its code, ``maatwerk-<id>``).

Counts of awards are counts of children's awards: the publication version of
the usage report shows those under five as ``"<5"`` (``usage.SUPPRESSED``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..access.models import User
from ..maatwerk.models import Award, Fund, Team, award_number
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..wallet.models import Child, Voucher

TEAM = "team"
FUND = "fund"


@dataclass(frozen=True)
class GiverRow:
    """One team's or fund's awards in a year."""

    kind: str  # "team" or "fund"
    id: int
    name: str
    awards: int
    awarded_cents: int
    spent_cents: int


@dataclass(frozen=True)
class AwardLine:
    id: int
    at: datetime
    by: str
    kind: str
    giver: str
    team_id: int | None
    fund_id: int | None
    child_id: int
    child_ref: str
    first_name: str
    category: str
    merchant: str | None
    reason: str
    note: str | None
    amount_cents: int
    spent_cents: int
    withdrawn_at: datetime | None
    returned_cents: int | None
    withdraw_reason: str | None
    withdraw_note: str | None

    @property
    def number(self) -> str:
        return award_number(self.id)


def _spent(session: Session, municipality_id: int, counted: ColumnElement[bool]) -> dict[str, int]:
    """Spent per maatwerk voucher code (an award and its reissued successors share it)."""
    return {
        str(code): int(total or 0)
        for code, total in session.execute(
            select(Voucher.code, func.sum(Redemption.amount_cents))
            .join(Redemption, Redemption.voucher_id == Voucher.id)
            .where(Voucher.municipality_id == municipality_id, Voucher.code.like("maatwerk-%"),
                   counted)
            .group_by(Voucher.code)
        )
    }


def award_lines(
    session: Session, municipality_id: int, year: int, counted: ColumnElement[bool], *, team_id: int | None = None,
    fund_id: int | None = None, limit: int | None = None,
) -> list[AwardLine]:
    """The year's awards, newest first; only a team's or a fund's when one is given."""
    query = (
        select(Award, User.email, Team.name, Fund.name, Child.child_ref, Child.first_name, Merchant.name)
        .join(User, User.id == Award.user_id)
        .join(Child, Child.id == Award.child_id)
        .outerjoin(Team, Team.id == Award.team_id)
        .outerjoin(Fund, Fund.id == Award.fund_id)
        .outerjoin(Merchant, Merchant.id == Award.merchant_id)
        .where(Award.municipality_id == municipality_id, Award.year == year)
        .order_by(Award.id.desc())
    )
    if team_id is not None:
        query = query.where(Award.team_id == team_id)
    if fund_id is not None:
        query = query.where(Award.fund_id == fund_id)
    if limit is not None:
        query = query.limit(limit)
    spent = _spent(session, municipality_id, counted)
    return [
        AwardLine(
            a.id, a.created_at, email, TEAM if a.team_id else FUND, team or fund or "", a.team_id, a.fund_id,
            a.child_id, ref, first_name, a.category, merchant, a.reason, a.note, a.amount_cents,
            spent.get(a.voucher_code, 0), a.withdrawn_at, a.returned_cents, a.withdraw_reason, a.withdraw_note,
        )
        for a, email, team, fund, ref, first_name, merchant in session.execute(query)
    ]


def givers(session: Session, municipality_id: int, year: int, counted: ColumnElement[bool]) -> list[GiverRow]:
    """Every team and fund of the municipality with its awards of ``year`` (none: zeros), teams first, by name."""
    spent = _spent(session, municipality_id, counted)
    totals: dict[tuple[str, int], list[int]] = {}
    for team_id, fund_id, award_id, amount, returned in session.execute(
        select(Award.team_id, Award.fund_id, Award.id, Award.amount_cents, Award.returned_cents)
        .where(Award.municipality_id == municipality_id, Award.year == year)
    ):
        # The award_team_or_fund check: exactly one of the two is set.
        key: tuple[str, int] = (TEAM, team_id) if team_id is not None else (FUND, fund_id or 0)
        row = totals.setdefault(key, [0, 0, 0])
        row[0] += 1
        row[1] += amount - (returned or 0)
        row[2] += spent.get(f"maatwerk-{award_id}", 0)
    rows = [
        GiverRow(TEAM, team_id, name, *totals.get((TEAM, team_id), [0, 0, 0]))
        for team_id, name in session.execute(
            select(Team.id, Team.name).where(Team.municipality_id == municipality_id).order_by(Team.name)
        )
    ]
    rows += [
        GiverRow(FUND, fund_id, name, *totals.get((FUND, fund_id), [0, 0, 0]))
        for fund_id, name in session.execute(
            select(Fund.id, Fund.name).where(Fund.municipality_id == municipality_id).order_by(Fund.name)
        )
    ]
    return rows

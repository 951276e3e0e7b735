"""Households whose children hold a pass and have not used it: the list to reach them.

For one municipality, a pass year, a day and optionally an amount:

* **the children**: those whose pass for the year is active now (blocked
  without a replacement, or expired after year end, holds nothing to use).
* **spent**: what the child's passes of that year (every generation: a
  reissue does not make a child new) paid in redemptions that count (as in
  the usage report: not voided, not taken back by a correction), up to and
  including the day, in Amsterdam time.
* **still open**: the balances on the child's active pass now, whatever the
  day asked for (this is what a letter or an e-mail can still point to).
* **the household**: the import's ``household_ref``; a child without one is
  grouped by the parents' e-mail address, and a child without either is a
  household of its own. A household is on the list when its children
  together spent nothing by the day, or (``under_cents``) less than that.

Exact counts: the municipality's own staff see every household, however few
(small cells are hidden only in what is published, ``usage.published``).

Cost: three GROUP BY queries over the year's passes (spent per child, open
per pass, households), then the children of one page of households; the
export reads all of them once.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, String, Subquery, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..clock import day_bounds_utc
from ..config import Settings
from ..db.grouping import set_local
from ..errors import NotFound, ValidationFailed
from ..ledger import Account
from ..money import format_euros
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from ..reminders.optout import opted_out
from ..wallet.models import ACTIVE, Child, ChildPass, Voucher, format_pass_number
from .usage import YEAR_MAX, YEAR_MIN, counted

#: Households on one page of ``/admin/bereik``.
PAGE_SIZE = 50
#: At most this amount can be asked for ("spent less than"): € 100.000,00.
MAX_UNDER_CENTS = 10_000_000

#: The export's columns, one row per household (``csv_rows``).
CSV_COLUMNS = (
    "household_ref", "children", "child_refs", "first_names", "pass_ids", "postcode",
    "spent_eur", "open_eur", "email",
)


@dataclass(frozen=True)
class Criteria:
    year: int
    #: Spending counts up to and including this day (Amsterdam).
    until: date
    #: Less than this spent; None: nothing at all.
    under_cents: int | None = None

    def check(self) -> Criteria:
        if isinstance(self.year, bool) or not YEAR_MIN <= self.year <= YEAR_MAX:
            raise ValidationFailed(f"choose a year from {YEAR_MIN} to {YEAR_MAX}", refusal="year_range", low=YEAR_MIN,
                                   high=YEAR_MAX, errors={"year": ["out of range"]})
        if self.under_cents is not None and not 0 < self.under_cents <= MAX_UNDER_CENTS:
            raise ValidationFailed(f"the amount is more than 0 and at most {MAX_UNDER_CENTS} cents", refusal="under_range",
                                   max_cents=MAX_UNDER_CENTS, errors={"under": ["out of range"]})
        return self

    def params(self) -> dict[str, Any]:
        """For an audit event or a job: plain JSON."""
        return {"year": self.year, "spent_until": self.until.isoformat(), "under_cents": self.under_cents}


@dataclass(frozen=True)
class ChildRow:
    child_id: int
    child_ref: str
    first_name: str
    pass_id: int
    pass_number: str
    valid_until: date
    postcode: str | None
    email: str | None
    spent_cents: int
    open_cents: int


@dataclass(frozen=True)
class Household:
    household_ref: str | None
    children: tuple[ChildRow, ...]
    #: An address to write to (the first child's with one), lower case.
    email: str | None
    opted_out: bool

    @property
    def spent_cents(self) -> int:
        return sum(c.spent_cents for c in self.children)

    @property
    def open_cents(self) -> int:
        return sum(c.open_cents for c in self.children)

    @property
    def postcode(self) -> str | None:
        return next((c.postcode for c in self.children if c.postcode), None)

    @property
    def emails(self) -> tuple[str, ...]:
        """Every address of the household's children (normally one)."""
        return tuple(dict.fromkeys(c.email for c in self.children if c.email))


@dataclass(frozen=True)
class NonUsers:
    """One page of the list, and the totals of all of it."""

    criteria: Criteria
    households: int
    children: int
    open_cents: int
    page: int
    pages: int
    rows: tuple[Household, ...]


# -- the queries -------------------------------------------------------------------

def household_key() -> ColumnElement[str]:
    """Which household a child belongs to: its ``household_ref``, else its address, else itself."""
    return case(
        (and_(Child.household_ref.is_not(None), Child.household_ref != ""), literal("h:") + Child.household_ref),
        (and_(Child.email.is_not(None), Child.email != ""), literal("e:") + func.lower(Child.email)),
        else_=literal("c:") + cast(Child.id, String),
    )


def per_child(municipality_id: int, criteria: Criteria) -> Subquery:
    """One row per child with an active pass of the year: what it spent by the day, what is open now."""
    of_year = (ChildPass.municipality_id == municipality_id) & (ChildPass.year == criteria.year)
    _, cutoff = day_bounds_utc(criteria.until)
    spent = (
        select(ChildPass.child_id.label("child_id"), func.sum(Redemption.amount_cents).label("spent"))
        .join(Redemption, Redemption.pass_id == ChildPass.id)
        .where(of_year, counted(municipality_id), Redemption.created_at < cutoff)
        .group_by(ChildPass.child_id)
        .subquery()
    )
    open_now = (
        select(Voucher.pass_id.label("pass_id"), func.sum(Account.balance).label("open"))
        .join(Account, Account.id == Voucher.account_id)
        .join(ChildPass, ChildPass.id == Voucher.pass_id)
        .where(of_year, ChildPass.status == ACTIVE)
        .group_by(Voucher.pass_id)
        .subquery()
    )
    return (
        select(
            Child.id.label("child_id"),
            Child.child_ref.label("child_ref"),
            Child.first_name.label("first_name"),
            Child.household_ref.label("household_ref"),
            Child.postcode.label("postcode"),
            func.lower(Child.email).label("email"),
            household_key().label("household"),
            ChildPass.id.label("pass_id"),
            ChildPass.year.label("year"),
            ChildPass.valid_until.label("valid_until"),
            func.coalesce(spent.c.spent, 0).label("spent"),
            func.coalesce(open_now.c.open, 0).label("open"),
        )
        .join(ChildPass, (ChildPass.child_id == Child.id) & of_year & (ChildPass.status == ACTIVE))
        .outerjoin(spent, spent.c.child_id == Child.id)
        .outerjoin(open_now, open_now.c.pass_id == ChildPass.id)
        .where(Child.municipality_id == municipality_id)
        .subquery()
    )


def households(children: Subquery, criteria: Criteria) -> Subquery:
    """The households on the list, with their order (postcode, then the first child's reference)."""
    spent = func.sum(children.c.spent)
    keep = spent == 0 if criteria.under_cents is None else spent < criteria.under_cents
    return (
        select(
            children.c.household.label("household"),
            func.count().label("children"),
            func.sum(children.c.open).label("open"),
            func.min(children.c.postcode).label("postcode"),
            case((func.min(children.c.postcode).is_(None), 1), else_=0).label("no_postcode"),
            func.min(children.c.child_ref).label("first_ref"),
        )
        .group_by(children.c.household)
        .having(keep)
        .subquery()
    )


def _order(listed: Subquery) -> list[ColumnElement[Any]]:
    # Households without a postcode last, on both databases (they sort NULL differently).
    return [listed.c.no_postcode, listed.c.postcode, listed.c.first_ref, listed.c.household]


def _rows(session: Session, settings: Settings, municipality_id: int, children: Subquery, keys: list[str] | None,
          order: list[str]) -> list[Household]:
    query = select(children)
    if keys is not None:
        query = query.where(children.c.household.in_(keys))
    grouped: dict[str, list[Any]] = {}
    # Each household's children in the order of their reference, sorted here
    # rather than by ORDER BY: to save that sort, SQLite walked the children
    # in reference order and looked up each one's pass among all the year's
    # passes, quadratic in the children (hours for a reminder run to 100,000).
    for row in sorted(session.execute(query), key=lambda r: r.child_ref):
        grouped.setdefault(row.household, []).append(row)
    found = [grouped[k] for k in order if k in grouped]
    addresses = {r.email for rows in found for r in rows if r.email}
    stopped = opted_out(session, settings, municipality_id, addresses)
    result = []
    for rows in found:
        kids = tuple(
            ChildRow(r.child_id, r.child_ref, r.first_name, r.pass_id, format_pass_number(r.year, r.pass_id),
                     r.valid_until, r.postcode, r.email, int(r.spent), int(r.open))
            for r in rows
        )
        email = next((k.email for k in kids if k.email), None)
        ref = next((r.household_ref for r in rows if r.household_ref), None)
        result.append(Household(ref, kids, email, email in stopped if email else False))
    return result


def _hash_joins(session: Session) -> None:
    """For this transaction only, on PostgreSQL: it estimated one row for each
    grouped subquery of the list and joined them in nested loops, scanning one
    again for every row of the other (quadratic: 143 s at 20,000 children,
    2 s with hash joins, which read each once)."""
    set_local(session, enable_nestloop="off")


def _scope(session: Session, actor: Actor) -> Municipality:
    ensure_role(actor, "admin", "caseworker")
    municipality = session.get(Municipality, actor.municipality_id) if actor.municipality_id else None
    if municipality is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    ensure_municipality(actor, municipality.id)
    return municipality


def non_users(session: Session, actor: Actor, criteria: Criteria, *, settings: Settings, page: int = 1) -> NonUsers:
    """One page (``PAGE_SIZE`` households) of the list for ``actor``'s municipality (admin, caseworker)."""
    municipality = _scope(session, actor)
    criteria.check()
    _hash_joins(session)
    children = per_child(municipality.id, criteria)
    listed = households(children, criteria)
    count, kids, open_cents = session.execute(
        select(func.count(), func.coalesce(func.sum(listed.c.children), 0), func.coalesce(func.sum(listed.c.open), 0))
    ).one()
    pages = max(1, -(-int(count) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    keys = list(
        session.scalars(
            select(listed.c.household)
            .order_by(*_order(listed))
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    rows = _rows(session, settings, municipality.id, children, keys, keys) if keys else []
    return NonUsers(criteria, int(count), int(kids), int(open_cents), page, pages, tuple(rows))


def all_non_users(session: Session, municipality_id: int, criteria: Criteria, *, settings: Settings) -> list[Household]:
    """Every household on the list, in the list's order (the export, the reminder run)."""
    criteria.check()
    _hash_joins(session)
    children = per_child(municipality_id, criteria)
    listed = households(children, criteria)
    order = list(session.scalars(select(listed.c.household).order_by(*_order(listed))))
    if not order:
        return []
    # Every child of the year, kept by ``_rows`` when its household is on the
    # list: joining the children to the listed households in SQL made
    # PostgreSQL loop over one grouped subquery for each row of the other
    # (quadratic: more than nine minutes at 100,000 children).
    return _rows(session, settings, municipality_id, children, None, order)


def export_non_users(session: Session, actor: Actor, criteria: Criteria, *, settings: Settings) -> list[Household]:
    """The whole list for a letter run; audited (``reach.export``, the criteria and the count)."""
    municipality = _scope(session, actor)
    rows = all_non_users(session, municipality.id, criteria, settings=settings)
    record_audit(
        session, actor, "reach.export", "municipality", municipality.id,
        after={**criteria.params(), "households": len(rows), "children": sum(len(h.children) for h in rows)},
    )
    return rows


def csv_rows(rows: list[Household]) -> Iterator[list[object]]:
    """One CSV row per household (``CSV_COLUMNS``; amounts in euros with a decimal comma)."""
    for h in rows:
        yield [
            h.household_ref or "", len(h.children), " ".join(c.child_ref for c in h.children),
            ", ".join(c.first_name for c in h.children), " ".join(c.pass_number for c in h.children),
            h.postcode or "", format_euros(h.spent_cents).replace(".", ","), format_euros(h.open_cents).replace(".", ","),
            "afgemeld" if h.opted_out else ("ja" if h.email else "nee"),
        ]

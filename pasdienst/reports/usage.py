"""The usage report (issue 6): who was reached, who used the pass, where the money went.

Figures
-------
All figures are about one municipality and the passes of one year.

* **eligible children**: distinct children holding a pass for the year, of
  any generation and status (a blocked, replaced or expired pass still means
  the child was reached; a reissued pass is the same child).
* **children with a redemption**: distinct children with at least one
  redemption that counts, on any pass of the year. A redemption voided on
  the day, or taken back after payment by a settlement correction, does not
  count anywhere in this report: its money went back onto the voucher.
* **usage share**: the second over the first, rounded half up to four
  decimals, and its **band** as in B16 Schema 5.4: ``<25`` [0, 25 %),
  ``25-50`` [25, 50 %), ``50-75`` [50, 75 %), ``>75`` [75, 100 %]. The band
  is decided on the exact fraction, never on the rounded share.
* **by category**, for each category of the year's vouchers: children holding
  such a voucher, children who spent from one, redemptions, and money:
  *awarded* (see **money**), *spent* (redemptions), *expired* (year-end
  ``expire`` postings out of them) and *outstanding* (their balances now).
  A reissue's
  ``carry_over`` moves money between two vouchers of the same year and
  category, so it nets out and is not shown; awarded = spent + expired +
  outstanding.
* **by age band**: age on the scheme's ``valid_from`` (the reference date of
  its age rules): 0–3, 4–11, 12–17. Children outside those ages (older by an
  override, or a birth date after the reference date) form a band ``other``,
  listed only when it has children.
* **by month**: the months of the scheme's validity (normally January to
  December), in Europe/Amsterdam time: the month boundaries are computed as
  exact UTC instants, so a payment at 00:30 on 1 October in Amsterdam is an
  October payment on both databases. Redemptions, money spent and distinct
  children per month (a child who pays in two months counts in both).
* **by merchant**: redemptions, money and distinct children per merchant,
  most money first (like the months, within the scheme's months: the till
  refuses a pass outside its validity anyway).
* **money**: the category sums. *Awarded* is what the year's vouchers
  started with when they were issued (the issue transfer credits exactly
  that, in the same transaction; carried-over vouchers are not new money),
  less any reversed issue; *expired* comes from the year-end transfers.

Maatwerk
--------
``maatwerk`` lists every team and fund of the municipality (``maatwerk.py``):
awards made in the year, the amount they hold and the amount spent from
them. Their vouchers count in the categories like any other; a fund's
withdrawn award returns its rest by ``fund_return`` (not ``expire``), which
counts as *expired* there, so awarded = spent + expired + outstanding still
holds. In the publication version a count of awards below five is ``"<5"``
(an award is a child's).

Reach over time, districts, reminders
-------------------------------------
``by_week``, ``by_district`` and ``reminders`` (issue 15) are computed in
``outreach.py`` and described there; they are extra keys of the same report
(the contract's keys are unchanged), with their own CSV tables, and hidden
the same way in the publication version (``UsageReport._published_reach``).

Cost
----
A handful of queries, none of which returns single redemptions: the
age bands (one EXISTS look-up per pass), vouchers per category, redemptions
per voucher rolled up per category, the few ledger transfers of year end,
and months and merchants together (one pass with GROUPING SETS on
PostgreSQL, two on SQLite, which has none). Counting distinct children is
what costs: sorting the year's redemptions. On PostgreSQL the report raises
``work_mem`` for its own transaction so those sorts stay in memory, and
turns JIT off; on SQLite the covering index of ``reports/models.py`` spares
fetching each redemption row. ``scripts/bench_reports.py`` measures it.

Who sees what
-------------
The municipality's own admin and finance staff see the exact figures
(``UsageReport.figures()``: the API, the page ``/admin/gebruik``, its CSV
tables and the dashboard; a count of 0 is 0). The headline figures, children
reached and children who used the pass, come from one function, ``reach``,
for the report and the dashboard alike.

Small cells
-----------
What is published outside the municipality is the publication version,
``UsageReport.published()`` (``/admin/gebruik/publicatie``,
``…/usage/publication`` and its CSV, each marked as such with
``publication_note()``, the catalogue's ``report.publication_note``). There every count of *children* below five, zero
included, is the string ``"<5"``: ``eligible_children``,
``children_with_redemption``, ``children_awarded`` (top level, categories,
age bands, months, merchants). A share computed from a hidden count is
``"<5"`` as well, and the usage band is ``null`` when the share is hidden.

A part shown next to its total also tells the rest: 18 of 20 children who
used the pass name the 2 who did not. So a part (children who used the pass,
households or children who used it after a reminder, children reached by a
week) is hidden when the rest of its shown total is below five, zero
included (``part_hidden``): top level, categories, age bands, districts,
reminders and the running total per week. The age bands and the districts
add up to the totals in three columns: children, those who used the pass,
and the rest. When exactly one cell with children in it is unknown in such a
column, its total included, the smallest shown cell of that column is hidden
too, until no column has a lone unknown (``hidden_table``; otherwise the
total minus the others gives it away). Counts of redemptions and amounts of
money are not about children and are never hidden.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, SQLColumnExpression, case, distinct, exists, func, literal, select
from sqlalchemy.orm import Session

from .. import books, catalogue
from ..clock import AMSTERDAM, now_utc
from ..db.grouping import group_by_each, set_local
from ..errors import ValidationFailed
from ..ledger import Account, Posting, Transfer
from ..money import format_euros
from ..municipalities.services import get_municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..settlement.models import SettlementCorrection
from ..wallet.models import CATEGORIES, Child, ChildPass, Scheme, Voucher
from . import maatwerk as maatwerk_figures
from . import outreach
from .maatwerk import GiverRow
from .outreach import DistrictRow, ReminderRow, WeekRow, reminders_figures

#: What a hidden count of children reads as in the publication version.
SUPPRESSED = "<5"
#: Counts of children below this are hidden.
MIN_CHILDREN = 5

#: (label, youngest, oldest) in years on the scheme's reference date.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (("0-3", 0, 3), ("4-11", 4, 11), ("12-17", 12, 17))
OTHER_BAND = "other"
USAGE_BANDS: tuple[str, ...] = ("<25", "25-50", "50-75", ">75")

#: The tables one can download as CSV.
CSV_TABLES: tuple[str, ...] = (
    "summary", "by_category", "by_age_band", "by_month", "by_merchant", "by_week", "by_district", "reminders",
    "maatwerk",
)

YEAR_MIN, YEAR_MAX = 2000, 2100

Count = int | str  # a count of children, or SUPPRESSED


def publication_note() -> str:
    """Travels with every publication version (page, JSON, CSV), so that a reader outside the municipality
    knows why some figures read "<5": small counts, parts whose rest is small, and a second group hidden
    where groups add up to their total. In Dutch, from the catalogue."""
    return catalogue.sentence("report.publication_note", {"suppressed": SUPPRESSED})


@dataclass(frozen=True)
class CategoryRow:
    category: str
    children_awarded: int
    children_with_redemption: int
    redemptions: int
    awarded_cents: int
    spent_cents: int
    expired_cents: int
    outstanding_cents: int


@dataclass(frozen=True)
class AgeBandRow:
    band: str
    min_age: int | None
    max_age: int | None
    eligible_children: int
    children_with_redemption: int


@dataclass(frozen=True)
class MonthRow:
    month: str  # "2027-09"
    redemptions: int
    spent_cents: int
    children_with_redemption: int


@dataclass(frozen=True)
class MerchantRow:
    merchant_id: int
    name: str
    redemptions: int
    spent_cents: int
    children_with_redemption: int


@dataclass(frozen=True)
class Money:
    awarded_cents: int
    spent_cents: int
    expired_cents: int
    outstanding_cents: int


@dataclass(frozen=True)
class Reach:
    """Children with a pass for the year and children who used it, per age band and in total."""

    eligible_children: int
    children_with_redemption: int
    by_age_band: tuple[AgeBandRow, ...]

    @property
    def usage_share(self) -> float | None:
        return share(self.children_with_redemption, self.eligible_children)

    @property
    def usage_band(self) -> str | None:
        return usage_band(self.children_with_redemption, self.eligible_children)


@dataclass(frozen=True)
class UsageReport:
    """The exact figures: :meth:`figures` for the municipality's own staff,
    :meth:`published` (small cells hidden) for anything published outside it."""

    municipality: str
    municipality_name: str
    year: int
    #: The scheme's ``valid_from``, on which ages are counted (None: no scheme that year).
    reference_date: date | None
    eligible_children: int
    children_with_redemption: int
    by_category: tuple[CategoryRow, ...]
    by_age_band: tuple[AgeBandRow, ...]
    by_month: tuple[MonthRow, ...]
    by_merchant: tuple[MerchantRow, ...]
    money: Money
    #: Reach over time, per district, after reminders (``outreach.py``).
    by_week: tuple[WeekRow, ...] = ()
    by_district: tuple[DistrictRow, ...] = ()
    reminders: tuple[ReminderRow, ...] = ()
    maatwerk: tuple[GiverRow, ...] = ()

    @property
    def usage_share(self) -> float | None:
        return share(self.children_with_redemption, self.eligible_children)

    @property
    def usage_band(self) -> str | None:
        return usage_band(self.children_with_redemption, self.eligible_children)

    def figures(self) -> dict[str, Any]:
        """The exact report for the municipality's own staff: the API, the page, its CSV tables."""
        return {
            "municipality": self.municipality,
            "year": self.year,
            "eligible_children": self.eligible_children,
            "children_with_redemption": self.children_with_redemption,
            "usage_share": self.usage_share,
            "usage_band": self.usage_band,
            "by_category": [
                {
                    "category": c.category,
                    "children_awarded": c.children_awarded,
                    "children_with_redemption": c.children_with_redemption,
                    "usage_share": share(c.children_with_redemption, c.children_awarded),
                    "redemptions": c.redemptions,
                    "awarded_cents": c.awarded_cents,
                    "spent_cents": c.spent_cents,
                    "expired_cents": c.expired_cents,
                    "outstanding_cents": c.outstanding_cents,
                }
                for c in self.by_category
            ],
            "by_age_band": [
                {
                    "band": b.band,
                    "min_age": b.min_age,
                    "max_age": b.max_age,
                    "eligible_children": b.eligible_children,
                    "children_with_redemption": b.children_with_redemption,
                    "usage_share": share(b.children_with_redemption, b.eligible_children),
                }
                for b in self.by_age_band
            ],
            "by_month": [
                {
                    "month": m.month,
                    "redemptions": m.redemptions,
                    "spent_cents": m.spent_cents,
                    "children_with_redemption": m.children_with_redemption,
                }
                for m in self.by_month
            ],
            "money": self._money(),
            "by_merchant": [
                {
                    "merchant_id": m.merchant_id,
                    "name": m.name,
                    "redemptions": m.redemptions,
                    "spent_cents": m.spent_cents,
                    "children_with_redemption": m.children_with_redemption,
                }
                for m in self.by_merchant
            ],
            "by_week": [
                {
                    "week": w.week,
                    "starts": w.starts.isoformat(),
                    "redemptions": w.redemptions,
                    "spent_cents": w.spent_cents,
                    "children_with_redemption": w.children_with_redemption,
                    "new_children": w.new_children,
                    "reached_children": w.reached_children,
                    "reached_share": share(w.reached_children, self.eligible_children),
                }
                for w in self.by_week
            ],
            "by_district": [
                {
                    "district": d.district,
                    "eligible_children": d.eligible_children,
                    "children_with_redemption": d.children_with_redemption,
                    "usage_share": share(d.children_with_redemption, d.eligible_children),
                    "redemptions": d.redemptions,
                    "spent_cents": d.spent_cents,
                }
                for d in self.by_district
            ],
            "reminders": [
                {**row, "share_used": share(int(row["households_used"]), int(row["households"]))}
                for row in reminders_figures(self.reminders)
            ],
            "maatwerk": self._maatwerk(hide=False),
        }

    def _maatwerk(self, *, hide: bool) -> list[dict[str, Any]]:
        return [
            {
                "kind": g.kind,
                "name": g.name,
                "awards": _count(g.awards) if hide else g.awards,
                "awarded_cents": g.awarded_cents,
                "spent_cents": g.spent_cents,
            }
            for g in self.maatwerk
        ]

    def _money(self) -> dict[str, int]:
        return {
            "awarded_cents": self.money.awarded_cents,
            "spent_cents": self.money.spent_cents,
            "expired_cents": self.money.expired_cents,
            "outstanding_cents": self.money.outstanding_cents,
        }

    def published(self) -> dict[str, Any]:
        """The publication version: small cells hidden, and the note that says so."""
        total_hidden = self.eligible_children < MIN_CHILDREN
        used_hidden = part_hidden(self.children_with_redemption, self.eligible_children)
        share_hidden = total_hidden or used_hidden
        bands = self.by_age_band
        eligible_hidden, band_used_hidden = hidden_table(
            [(b.eligible_children, b.children_with_redemption) for b in bands],
            (self.eligible_children, self.children_with_redemption),
        )
        return {
            "municipality": self.municipality,
            "year": self.year,
            "publication": {"min_children": MIN_CHILDREN, "note": publication_note()},
            "eligible_children": _count(self.eligible_children, total_hidden),
            "children_with_redemption": _count(self.children_with_redemption, used_hidden),
            "usage_share": SUPPRESSED if share_hidden else self.usage_share,
            "usage_band": None if share_hidden else self.usage_band,
            "by_category": [
                {
                    "category": c.category,
                    "children_awarded": _count(c.children_awarded),
                    "children_with_redemption": _count(
                        c.children_with_redemption, part_hidden(c.children_with_redemption, c.children_awarded)
                    ),
                    "usage_share": _published_share(c.children_with_redemption, c.children_awarded),
                    "redemptions": c.redemptions,
                    "awarded_cents": c.awarded_cents,
                    "spent_cents": c.spent_cents,
                    "expired_cents": c.expired_cents,
                    "outstanding_cents": c.outstanding_cents,
                }
                for c in self.by_category
            ],
            "by_age_band": [
                {
                    "band": b.band,
                    "min_age": b.min_age,
                    "max_age": b.max_age,
                    "eligible_children": _count(b.eligible_children, eligible_hidden[i]),
                    "children_with_redemption": _count(b.children_with_redemption, band_used_hidden[i]),
                    "usage_share": SUPPRESSED
                    if eligible_hidden[i] or band_used_hidden[i]
                    else share(b.children_with_redemption, b.eligible_children),
                }
                for i, b in enumerate(bands)
            ],
            "by_month": [
                {
                    "month": m.month,
                    "redemptions": m.redemptions,
                    "spent_cents": m.spent_cents,
                    "children_with_redemption": _count(m.children_with_redemption),
                }
                for m in self.by_month
            ],
            "money": self._money(),
            "by_merchant": [
                {
                    "merchant_id": m.merchant_id,
                    "name": m.name,
                    "redemptions": m.redemptions,
                    "spent_cents": m.spent_cents,
                    "children_with_redemption": _count(m.children_with_redemption),
                }
                for m in self.by_merchant
            ],
            **self._published_reach(),
            "maatwerk": self._maatwerk(hide=True),
        }

    def _published_reach(self) -> dict[str, Any]:
        """The weeks, districts and reminders with small cells hidden.

        Weeks: children per week below five are hidden; the running total of
        children reached is shown only where it is five or more, leaves five
        or more of the children with a pass unreached, and grew by none or by
        five or more since the last value shown (else the difference would
        name a handful of children); the first-time counts per week are left
        out (they are those differences). Districts add up to the totals, like
        the age bands. Reminders: households and children below five are
        hidden, and so is a count that used the pass when fewer than five did
        not; the share goes with them.
        """
        weeks, last_shown = [], 0
        for w in self.by_week:
            grew = w.reached_children - last_shown
            reached_hidden = part_hidden(w.reached_children, self.eligible_children) or 0 < grew < MIN_CHILDREN
            if not reached_hidden:
                last_shown = w.reached_children
            weeks.append({
                "week": w.week,
                "starts": w.starts.isoformat(),
                "redemptions": w.redemptions,
                "spent_cents": w.spent_cents,
                "children_with_redemption": _count(w.children_with_redemption),
                "reached_children": _count(w.reached_children, reached_hidden),
                "reached_share": SUPPRESSED
                if reached_hidden or self.eligible_children < MIN_CHILDREN
                else share(w.reached_children, self.eligible_children),
            })
        districts = self.by_district
        eligible_hidden, used_hidden = hidden_table(
            [(d.eligible_children, d.children_with_redemption) for d in districts],
            (self.eligible_children, self.children_with_redemption),
        )
        reminders = []
        for row in reminders_figures(self.reminders):
            hidden = {
                "households": int(row["households"]) < MIN_CHILDREN,
                "children": int(row["children"]) < MIN_CHILDREN,
                "households_used": part_hidden(int(row["households_used"]), int(row["households"])),
                "children_used": part_hidden(int(row["children_used"]), int(row["children"])),
            }
            reminders.append({
                **row,
                **{k: _count(int(row[k]), hidden[k]) for k in hidden},
                "share_used": SUPPRESSED if hidden["households"] or hidden["households_used"]
                else share(int(row["households_used"]), int(row["households"])),
            })
        return {
            "by_week": weeks,
            "by_district": [
                {
                    "district": d.district,
                    "eligible_children": _count(d.eligible_children, eligible_hidden[i]),
                    "children_with_redemption": _count(d.children_with_redemption, used_hidden[i]),
                    "usage_share": SUPPRESSED
                    if eligible_hidden[i] or used_hidden[i]
                    else share(d.children_with_redemption, d.eligible_children),
                    "redemptions": d.redemptions,
                    "spent_cents": d.spent_cents,
                }
                for i, d in enumerate(districts)
            ],
            "reminders": reminders,
        }


# -- shares, bands and hiding ------------------------------------------------------

def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded half up to four decimals (None when ``whole`` is 0)."""
    if whole <= 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def usage_band(used: int, eligible: int) -> str | None:
    """The B16 band of ``used / eligible``, decided in whole numbers (no rounding at the edges)."""
    if eligible <= 0:
        return None
    if 4 * used < eligible:
        return "<25"
    if 2 * used < eligible:
        return "25-50"
    if 4 * used < 3 * eligible:
        return "50-75"
    return ">75"


def _count(value: int, hidden: bool | None = None) -> Count:
    if hidden is None:
        hidden = value < MIN_CHILDREN
    return SUPPRESSED if hidden else value


def _published_share(used: int, eligible: int) -> float | str | None:
    if eligible < MIN_CHILDREN or part_hidden(used, eligible):
        return SUPPRESSED
    return share(used, eligible)


def part_hidden(part: int, whole: int) -> bool:
    """Whether to hide ``part`` of ``whole``: when it is under five, or when
    the rest (``whole - part``, zero included) is, since with the whole shown
    the part would name the rest. A whole under five is hidden itself."""
    return part < MIN_CHILDREN or whole - part < MIN_CHILDREN


def hidden_cells(values: Sequence[int], total: int, hidden: Sequence[bool] | None = None,
                 total_hidden: bool | None = None) -> list[bool]:
    """Which cells of a column that adds up to ``total`` to hide.

    Cells under five are hidden (or those of ``hidden``; the total is hidden
    when under five, or as ``total_hidden`` says). When exactly one unknown of
    the column has children in it (a hidden cell, or the hidden total), the
    others would reveal it (hidden zeros do not help: an empty age band is
    often known from the scheme's age rules), so the smallest shown cell is
    hidden too.
    """
    hidden = [v < MIN_CHILDREN for v in values] if hidden is None else list(hidden)
    if total_hidden is None:
        total_hidden = total < MIN_CHILDREN
    unknowns = sum(1 for v, h in zip(values, hidden) if h and v > 0) + (total_hidden and total > 0)
    if unknowns == 1:
        shown = [i for i, h in enumerate(hidden) if not h]
        if shown:
            hidden[min(shown, key=lambda i: (values[i], i))] = True
    return hidden


def hidden_table(rows: Sequence[tuple[int, int]], total: tuple[int, int]) -> tuple[list[bool], list[bool]]:
    """Which wholes and parts to hide of rows ``(children, those who used the
    pass)`` that add up to ``total``.

    Each row and the total also hold a third figure, the rest (whole minus
    part), known exactly when both are shown. Hiding a part for its small rest
    (``part_hidden``) leaves the three columns, wholes, parts and rests, each
    adding up to its total, and any of them with a lone unknown gives it away;
    so ``hidden_cells`` runs over all three until none changes. A rest is
    hidden by hiding its row's part.
    """
    wholes = [w for w, _ in rows]
    parts = [p for _, p in rows]
    rests = [w - p for w, p in rows]
    whole_hidden = [w < MIN_CHILDREN for w in wholes]
    part_of_hidden = [part_hidden(p, w) for w, p in rows]
    total_whole_hidden = total[0] < MIN_CHILDREN
    total_part_hidden = part_hidden(total[1], total[0])
    while True:
        before = (whole_hidden, part_of_hidden)
        whole_hidden = hidden_cells(wholes, total[0], whole_hidden, total_whole_hidden)
        part_of_hidden = hidden_cells(parts, total[1], part_of_hidden, total_part_hidden)
        rest_hidden = [w or p for w, p in zip(whole_hidden, part_of_hidden)]
        rest_hidden = hidden_cells(rests, total[0] - total[1], rest_hidden, total_whole_hidden or total_part_hidden)
        part_of_hidden = [p or (r and not w) for p, r, w in zip(part_of_hidden, rest_hidden, whole_hidden)]
        if (whole_hidden, part_of_hidden) == before:
            return whole_hidden, part_of_hidden


# -- the queries -----------------------------------------------------------------

def born_on_or_before(reference: date, age: int) -> date:
    """The latest birth date of a child who is at least ``age`` on ``reference``.

    Agrees with ``wallet.models.age_on``: a 29 February birthday falls on
    1 March in other years.
    """
    try:
        return reference.replace(year=reference.year - age)
    except ValueError:  # reference is 29 February; that year has none
        return date(reference.year - age, 2, 28)


def _age_band(reference: date) -> ColumnElement[str]:
    whens: list[tuple[ColumnElement[bool], str]] = [(Child.birth_date > reference, OTHER_BAND)]
    whens += [(Child.birth_date > born_on_or_before(reference, oldest + 1), label) for label, _, oldest in AGE_BANDS]
    return case(*whens, else_=OTHER_BAND)


def month_starts(first: date, last: date) -> list[date]:
    """The first days of the months from ``first``'s month to ``last``'s, and of the month after."""
    months = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    months.append(date(y, m, 1))
    return months


def _bucket(column: SQLColumnExpression[datetime], bounds: Sequence[datetime]) -> ColumnElement[int]:
    """The index ``i`` with ``bounds[i] <= column < bounds[i + 1]``, for a value inside the bounds.

    A balanced tree of comparisons (four for twelve months instead of up to
    eleven): the expression runs once per redemption.
    """

    def node(lo: int, hi: int) -> ColumnElement[int]:
        if hi - lo == 1:
            return literal(lo, Integer)
        mid = (lo + hi) // 2
        return case((column < bounds[mid], node(lo, mid)), else_=node(mid, hi))

    return node(0, len(bounds) - 1)


def _amsterdam_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM).astimezone(timezone.utc)


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationFailed(f"year must be a whole number from {YEAR_MIN} to {YEAR_MAX}, not {year!r}")


def _counted(municipality_id: int) -> ColumnElement[bool]:
    """A redemption that counts: not voided on the day, not taken back after
    payment by a settlement correction (either way the money went back onto
    the voucher)."""
    # NOT IN a small uncorrelated set: PostgreSQL hashes it and SQLite
    # indexes it once; a correlated NOT EXISTS made PostgreSQL scan the
    # corrections once per redemption when it had never seen any.
    return Redemption.voided_at.is_(None) & Redemption.id.not_in(
        select(SettlementCorrection.redemption_id).where(SettlementCorrection.municipality_id == municipality_id)
    )


#: The same rule for the package's other reports (``nonusers``, ``outreach``).
counted = _counted


def _scheme_dates(session: Session, municipality_id: int, year: int) -> Row[date, date] | None:
    return session.execute(
        select(Scheme.valid_from, Scheme.valid_until).where(Scheme.municipality_id == municipality_id, Scheme.year == year)
    ).first()


def _reach(session: Session, municipality_id: int, year: int, reference: date | None) -> Reach:
    of_year = (ChildPass.municipality_id == municipality_id) & (ChildPass.year == year)
    if reference is None:  # no scheme, so no passes either
        bands = [AgeBandRow(label, lo, hi, 0, 0) for label, lo, hi in AGE_BANDS]
    else:
        # Per pass of the year: has it a redemption that counts? (EXISTS:
        # one index look-up per pass on both databases, and no sorting of
        # redemptions.) Per child: any of its passes. Then per age band.
        has_paid = exists(select(Redemption.id).where(Redemption.pass_id == ChildPass.id, _counted(municipality_id)))
        per_pass = (
            select(ChildPass.child_id.label("child_id"), case((has_paid, 1), else_=0).label("used"))
            .where(of_year)
            .subquery()
        )
        per_child = (
            select(per_pass.c.child_id, func.max(per_pass.c.used).label("used"))
            .group_by(per_pass.c.child_id)
            .subquery()
        )
        # The band is a column of a subquery so that the outer GROUP BY names
        # a column: PostgreSQL would not match two renderings of a CASE with
        # bound parameters.
        banded = (
            select(_age_band(reference).label("band"), per_child.c.used)
            .join(Child, Child.id == per_child.c.child_id)
            .subquery()
        )
        found = {
            band: (int(eligible), int(used))
            for band, eligible, used in session.execute(
                select(banded.c.band, func.count(), func.sum(banded.c.used)).group_by(banded.c.band)
            )
        }
        bands = [AgeBandRow(label, lo, hi, *found.get(label, (0, 0))) for label, lo, hi in AGE_BANDS]
        if found.get(OTHER_BAND, (0, 0))[0]:
            bands.append(AgeBandRow(OTHER_BAND, None, None, *found[OTHER_BAND]))
    return Reach(
        eligible_children=sum(b.eligible_children for b in bands),
        children_with_redemption=sum(b.children_with_redemption for b in bands),
        by_age_band=tuple(bands),
    )


def reach(session: Session, municipality_code: str, year: int) -> Reach:
    """The children reached in ``year`` and those who used the pass: the
    usage report's headline figures, for the dashboard (one query)."""
    _check_year(year)
    municipality = get_municipality(session, municipality_code)
    scheme = _scheme_dates(session, municipality.id, year)
    return _reach(session, municipality.id, year, scheme.valid_from if scheme is not None else None)


def usage_report(session: Session, municipality_code: str, year: int, *, now: datetime | None = None) -> UsageReport:
    """The exact usage figures of one municipality's passes for ``year``.

    Raises ``NotFound`` for an unknown municipality and ``ValidationFailed``
    for a year outside 2000–2100. Read-only: run it in ``Database.read()``.
    """
    _check_year(year)
    municipality = get_municipality(session, municipality_code)
    _tune_for_report(session)
    scheme = _scheme_dates(session, municipality.id, year)
    of_year = (ChildPass.municipality_id == municipality.id) & (ChildPass.year == year)
    counted = _counted(municipality.id)
    reached = _reach(session, municipality.id, year, scheme.valid_from if scheme is not None else None)
    by_category = _by_category(session, municipality.code, of_year, counted)
    first, last = (scheme.valid_from, scheme.valid_until) if scheme is not None else (date(year, 1, 1), date(year, 12, 31))
    by_month, by_merchant = _by_month_and_merchant(session, of_year, counted, month_starts(first, last))
    return UsageReport(
        municipality=municipality.code,
        municipality_name=municipality.name,
        year=year,
        reference_date=scheme.valid_from if scheme is not None else None,
        eligible_children=reached.eligible_children,
        children_with_redemption=reached.children_with_redemption,
        by_category=by_category,
        by_age_band=reached.by_age_band,
        by_month=by_month,
        by_merchant=by_merchant,
        money=_money(by_category),
        by_week=outreach.by_week(session, municipality.id, year, first, last, counted, _bucket),
        by_district=outreach.by_district(session, municipality.id, year, counted),
        reminders=outreach.after_reminders(session, municipality.id, year, counted, now=now or now_utc()),
        maatwerk=tuple(maatwerk_figures.givers(session, municipality.id, year, counted)),
    )


def _tune_for_report(session: Session) -> None:
    """For this transaction only, on PostgreSQL: the count(DISTINCT …) sorts
    of 300,000 rows spill to disk with the default 4 MB; compiling these
    queries to machine code (JIT) takes longer than running them; and psycopg
    prepares a statement run often, after which PostgreSQL may switch to a
    generic plan that ignores which municipality and months are asked for.
    Planning afresh costs a millisecond."""
    set_local(session, work_mem="'64MB'", jit="off", plan_cache_mode="force_custom_plan")


def _by_category(
    session: Session, municipality_code: str, of_year: ColumnElement[bool], counted: ColumnElement[bool]
) -> tuple[CategoryRow, ...]:
    """Per voucher category: who holds one and what it was awarded, who used it
    and what they spent, what year end took back and what is still on them."""
    # Vouchers per category: who holds one, what is left on them.
    # What each voucher started with is what its issue transfer credited it,
    # in the same transaction (wallet/issuing.py); a carried-over voucher
    # started with money that was already awarded, so it does not count.
    held = {
        category: (int(children), int(initial or 0), int(outstanding or 0))
        for category, children, initial, outstanding in session.execute(
            select(
                Voucher.category,
                func.count(distinct(ChildPass.child_id)),
                func.sum(case((Voucher.carried_from_id.is_(None), Voucher.initial_cents), else_=0)),
                func.sum(Account.balance),
            )
            .join(ChildPass, ChildPass.id == Voucher.pass_id)
            .join(Account, Account.id == Voucher.account_id)
            .where(of_year)
            .group_by(Voucher.category)
        )
    }
    # Redemptions per voucher first (a voucher has a few), then per category:
    # the count of distinct children then runs over vouchers, not over
    # every redemption again.
    per_voucher = (
        select(
            Redemption.voucher_id.label("voucher_id"),
            func.count().label("redemptions"),
            func.sum(Redemption.amount_cents).label("spent"),
        )
        .join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(of_year, counted)
        .group_by(Redemption.voucher_id)
        .subquery()
    )
    used = {
        category: (int(children), int(count), int(spent or 0))
        for category, children, count, spent in session.execute(
            select(
                Voucher.category,
                func.count(distinct(ChildPass.child_id)),
                func.sum(per_voucher.c.redemptions),
                func.sum(per_voucher.c.spent),
            )
            .select_from(per_voucher)
            .join(Voucher, Voucher.id == per_voucher.c.voucher_id)
            .join(ChildPass, ChildPass.id == Voucher.pass_id)
            .group_by(Voucher.category)
        )
    }
    # From the ledger: what year end expired, and any reversal of an issue
    # (it nets out of the award). Only those transfers are read, not the
    # issue transfers themselves (that would be every voucher again).
    moved: dict[tuple[str, str], int] = {
        (category, kind): int(total or 0)
        for category, kind, total in session.execute(
            select(Voucher.category, Transfer.kind, func.sum(Posting.amount))
            .select_from(Transfer)
            .join(Posting, Posting.transfer_id == Transfer.id)
            .join(Voucher, Voucher.account_id == Posting.account_id)
            .join(ChildPass, ChildPass.id == Voucher.pass_id)
            .where(
                Transfer.ledger == municipality_code,
                Transfer.kind.in_((books.ISSUE, books.EXPIRE, books.FUND_RETURN)),
                Transfer.kind.in_((books.EXPIRE, books.FUND_RETURN)) | Transfer.reverses_id.is_not(None),
                of_year,
            )
            .group_by(Voucher.category, Transfer.kind)
        )
    }
    categories = sorted(set(held) | set(used), key=lambda c: (CATEGORIES.index(c) if c in CATEGORIES else 99, c))
    return tuple(
        CategoryRow(
            category=c,
            children_awarded=held.get(c, (0, 0, 0))[0],
            children_with_redemption=used.get(c, (0, 0, 0))[0],
            redemptions=used.get(c, (0, 0, 0))[1],
            awarded_cents=held.get(c, (0, 0, 0))[1] + moved.get((c, books.ISSUE), 0),
            spent_cents=used.get(c, (0, 0, 0))[2],
            expired_cents=-moved.get((c, books.EXPIRE), 0) - moved.get((c, books.FUND_RETURN), 0),
            outstanding_cents=held.get(c, (0, 0, 0))[2],
        )
        for c in categories
    )


def _by_month_and_merchant(
    session: Session, of_year: ColumnElement[bool], counted: ColumnElement[bool], starts: list[date]
) -> tuple[tuple[MonthRow, ...], tuple[MerchantRow, ...]]:
    """The redemptions that count per month of the scheme (``starts``: the
    months' first days and the day after the last) and per merchant, most
    spent first."""
    # Months bounded by Amsterdam midnights as UTC instants.
    bounds = [_amsterdam_midnight_utc(d) for d in starts]
    labels = [f"{d.year}-{d.month:02d}" for d in starts[:-1]]
    # One row per redemption that counts, with its month; the month and the
    # merchant tables both group these.
    paid = (
        select(
            _bucket(Redemption.created_at, bounds).label("month"),
            Redemption.merchant_id.label("merchant_id"),
            ChildPass.child_id.label("child_id"),
            Redemption.amount_cents.label("amount"),
        )
        .join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(of_year, counted, Redemption.created_at >= bounds[0], Redemption.created_at < bounds[-1])
        .subquery()
    )
    measures = (func.count(), func.sum(paid.c.amount), func.count(distinct(paid.c.child_id)))
    months, merchants = group_by_each(session, (paid.c.month, paid.c.merchant_id), measures)
    per_month = {int(month): (int(count), int(spent or 0), int(children)) for month, count, spent, children in months}
    per_merchant = {
        int(merchant_id): (int(count), int(spent or 0), int(children)) for merchant_id, count, spent, children in merchants
    }
    by_month = tuple(MonthRow(label, *per_month.get(i, (0, 0, 0))) for i, label in enumerate(labels))
    names = dict(session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(list(per_merchant)))).all())
    by_merchant = tuple(
        sorted(
            (MerchantRow(mid, names[mid], *figures) for mid, figures in per_merchant.items()),
            key=lambda m: (-m.spent_cents, m.name, m.merchant_id),
        )
    )
    return by_month, by_merchant


def _money(by_category: tuple[CategoryRow, ...]) -> Money:
    return Money(
        awarded_cents=sum(c.awarded_cents for c in by_category),
        spent_cents=sum(c.spent_cents for c in by_category),
        expired_cents=sum(c.expired_cents for c in by_category),
        outstanding_cents=sum(c.outstanding_cents for c in by_category),
    )


def report_years(session: Session, municipality_code: str) -> list[int]:
    """The years with a scheme or passes in this municipality, newest first."""
    municipality = get_municipality(session, municipality_code)
    years = set(
        session.execute(select(Scheme.year).where(Scheme.municipality_id == municipality.id)).scalars()
    ) | set(
        session.execute(select(ChildPass.year).where(ChildPass.municipality_id == municipality.id).distinct()).scalars()
    )
    return sorted(years, reverse=True)


# -- CSV -------------------------------------------------------------------------

def _euros(cents: int) -> str:
    # A decimal comma and no thousands separator: Excel set to Dutch reads a number.
    return format_euros(cents).replace(".", ",")


def _decimal(value: object) -> object:
    return f"{value:.4f}".replace(".", ",") if isinstance(value, float) else value


def usage_table(report: dict[str, Any], table: str) -> tuple[list[str], list[list[object]]]:
    """One table of a report (``figures()`` or ``published()``) as a CSV header and rows (amounts in euros)."""
    p = report
    if table == "summary":
        money = p["money"]
        rows: list[list[object]] = [
            ["municipality", p["municipality"]],
            ["year", p["year"]],
            ["eligible_children", p["eligible_children"]],
            ["children_with_redemption", p["children_with_redemption"]],
            ["usage_share", _decimal(p["usage_share"])],
            ["usage_band", p["usage_band"] or ""],
            ["awarded_eur", _euros(money["awarded_cents"])],
            ["spent_eur", _euros(money["spent_cents"])],
            ["expired_eur", _euros(money["expired_cents"])],
            ["outstanding_eur", _euros(money["outstanding_cents"])],
        ]
        return ["figure", "value"], rows
    if table == "by_category":
        header = [
            "category", "children_awarded", "children_with_redemption", "usage_share", "redemptions",
            "awarded_eur", "spent_eur", "expired_eur", "outstanding_eur",
        ]
        return header, [
            [
                c["category"], c["children_awarded"], c["children_with_redemption"], _decimal(c["usage_share"]),
                c["redemptions"], _euros(c["awarded_cents"]), _euros(c["spent_cents"]),
                _euros(c["expired_cents"]), _euros(c["outstanding_cents"]),
            ]
            for c in p["by_category"]
        ]
    if table == "by_age_band":
        header = ["band", "eligible_children", "children_with_redemption", "usage_share"]
        return header, [
            [b["band"], b["eligible_children"], b["children_with_redemption"], _decimal(b["usage_share"])]
            for b in p["by_age_band"]
        ]
    if table == "by_month":
        header = ["month", "redemptions", "spent_eur", "children_with_redemption"]
        return header, [
            [m["month"], m["redemptions"], _euros(m["spent_cents"]), m["children_with_redemption"]]
            for m in p["by_month"]
        ]
    if table == "by_merchant":
        header = ["merchant_id", "name", "redemptions", "spent_eur", "children_with_redemption"]
        return header, [
            [m["merchant_id"], m["name"], m["redemptions"], _euros(m["spent_cents"]), m["children_with_redemption"]]
            for m in p["by_merchant"]
        ]
    if table == "by_week":
        # The publication version has no first-time counts (see ``_published_reach``).
        first_times = "publication" not in p
        header = [
            "week", "starts", "redemptions", "spent_eur", "children_with_redemption",
            *(["new_children"] if first_times else []), "reached_children", "reached_share",
        ]
        return header, [
            [w["week"], w["starts"], w["redemptions"], _euros(w["spent_cents"]), w["children_with_redemption"],
             *([w["new_children"]] if first_times else []), w["reached_children"], _decimal(w["reached_share"])]
            for w in p["by_week"]
        ]
    if table == "by_district":
        header = ["district", "eligible_children", "children_with_redemption", "usage_share", "redemptions", "spent_eur"]
        return header, [
            [d["district"], d["eligible_children"], d["children_with_redemption"], _decimal(d["usage_share"]),
             d["redemptions"], _euros(d["spent_cents"])]
            for d in p["by_district"]
        ]
    if table == "reminders":
        header = [
            "send_on", "title", "households", "children", "households_used", "children_used", "share_used",
            "window_weeks", "window_closed",
        ]
        return header, [
            [r["send_on"], r["title"], r["households"], r["children"], r["households_used"], r["children_used"],
             _decimal(r["share_used"]), r["window_weeks"], r["window_closed"]]
            for r in p["reminders"]
        ]
    if table == "maatwerk":
        header = ["giver_kind", "giver", "awards", "awarded_eur", "spent_eur"]
        return header, [
            [g["kind"], g["name"], g["awards"], _euros(g["awarded_cents"]), _euros(g["spent_cents"])]
            for g in p["maatwerk"]
        ]
    raise ValidationFailed(f"unknown table {table!r}: one of {', '.join(CSV_TABLES)}", errors={"table": ["unknown table"]})


def publication_table(published: dict[str, Any], table: str) -> tuple[list[str], list[list[object]]]:
    """One table of the publication version for CSV, the note that explains the
    hidden cells as its first line: the file says what it is wherever it goes."""
    header, rows = usage_table(published, table)
    return [publication_note()], [[*header], *rows]

"""Who gets what under a scheme (DOMAIN.md §3.1–3.4). Pure functions, no I/O.

* Age is taken on the scheme's ``valid_from``; a child born later in the
  year on the day its pass is issued (so a newborn is 0 and gets what the
  scheme gives a 0-year-old). Age brackets are inclusive.
* A child *enters mid-year* when born after ``valid_from``, or registered
  after the year's first issuing run. With ``mid_year = "pro_rata"`` in the
  scheme its budgets are cut to the months left (the month it entered
  counts); punch cards and cheques stay whole. The default is ``"full"``.
* Income up to ``income_limit`` gives the full entitlement; above it the
  first sliding-scale band that reaches the income gives its share; beyond
  the last band, nothing.
* A case worker's override reason gives the full entitlement whatever the
  income (and the pass records that it was an override).
* A share rounds *down*: budgets and cheques to whole cents, punch cards to
  whole strips, so no child ever gets more than the scheme says.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .models import BUDGET, FULL, FULL_SHARE, OVERRIDE, PUNCHCARD, SLIDING, age_on

MID_YEAR_FULL = "full"
MID_YEAR_PRO_RATA = "pro_rata"
MID_YEAR_RULES = (MID_YEAR_FULL, MID_YEAR_PRO_RATA)


@dataclass(frozen=True)
class Award:
    basis: str  # FULL | SLIDING | OVERRIDE
    share: int  # basis points; 10000 is the whole entitlement


@dataclass(frozen=True)
class Grant:
    """One voucher a child is entitled to."""

    kind: str
    category: str
    code: str | None
    cents: int
    strip_value_cents: int | None


class Item:
    """What eligibility reads of a scheme item (the model or a spec)."""

    kind: str
    category: str
    code: str | None
    amount_cents: int
    strips: int | None
    strip_value_cents: int | None
    age_min: int
    age_max: int


def award_for(
    income: int | None, override_reason: str | None, *, income_limit: int, sliding_scale: Sequence[Sequence[int]]
) -> Award | None:
    """The share of the entitlement for an income in hundredths of a percent."""
    if override_reason:
        return Award(OVERRIDE, FULL_SHARE)
    if income is None:
        return None  # neither an income nor a case worker's reason: nothing to go on
    if income <= income_limit:
        return Award(FULL, FULL_SHARE)
    for up_to, share in sliding_scale:
        if income <= up_to:
            return Award(SLIDING, share)
    return None


def grant(item: Item, share: int) -> Grant | None:
    if item.kind == PUNCHCARD:
        assert item.strips is not None and item.strip_value_cents is not None
        strips = item.strips * share // FULL_SHARE
        cents = strips * item.strip_value_cents
    else:
        cents = item.amount_cents * share // FULL_SHARE
    if cents <= 0:
        return None
    return Grant(item.kind, item.category, item.code, cents, item.strip_value_cents if item.kind == PUNCHCARD else None)


@dataclass(frozen=True)
class Entry:
    """When a child comes into a scheme's year, as far as eligibility cares."""

    #: The day its age is taken on.
    age_day: date
    #: The months of the scheme it is entitled to, and the scheme's months.
    months: int
    of_months: int

    @property
    def mid_year(self) -> bool:
        return self.months < self.of_months


def _month_index(day: date) -> int:
    return day.year * 12 + day.month


def entry(
    birth_date: date, *, valid_from: date, valid_until: date, issue_day: date, newcomer_since: date | None = None,
) -> Entry:
    """The age day and the months a child is entitled to.

    ``newcomer_since``: the day the municipality registered the child, when
    that was after the year's first issuing run (None otherwise).
    """
    if birth_date > valid_from:
        entered, age_day = birth_date, max(issue_day, birth_date)
    else:
        entered, age_day = newcomer_since or valid_from, valid_from
    entered = min(max(entered, valid_from), valid_until)
    of_months = _month_index(valid_until) - _month_index(valid_from) + 1
    return Entry(age_day, _month_index(valid_until) - _month_index(entered) + 1, of_months)


def grants_for(
    items: Sequence[Item], birth_date: date, reference: date | Entry, award: Award, *, mid_year: str = MID_YEAR_FULL,
) -> list[Grant]:
    """Every voucher a child of ``birth_date`` gets, by age on ``reference``
    (a day, or an :class:`Entry`, whose months cut budgets when the scheme's
    ``mid_year`` rule is ``"pro_rata"``)."""
    day = reference.age_day if isinstance(reference, Entry) else reference
    age = age_on(birth_date, day)
    pro_rata = isinstance(reference, Entry) and reference.mid_year and mid_year == MID_YEAR_PRO_RATA
    found = []
    for item in items:
        if item.age_min <= age <= item.age_max:
            given = grant(item, award.share)
            if given is not None and pro_rata and given.kind == BUDGET:
                assert isinstance(reference, Entry)
                cents = given.cents * reference.months // reference.of_months  # rounds down, as shares do
                given = Grant(given.kind, given.category, given.code, cents, None) if cents > 0 else None
            if given is not None:
                found.append(given)
    return found

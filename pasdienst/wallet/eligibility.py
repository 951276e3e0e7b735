"""Who gets what under a scheme (DOMAIN.md §3.1–3.4). Pure functions, no I/O.

* Age is taken on the scheme's ``valid_from``; age brackets are inclusive.
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

from .models import FULL, FULL_SHARE, OVERRIDE, PUNCHCARD, SLIDING, age_on


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


def grants_for(items: Sequence[Item], birth_date: date, reference: date, award: Award) -> list[Grant]:
    """Every voucher a child of ``birth_date`` gets, by age on ``reference``."""
    age = age_on(birth_date, reference)
    found = []
    for item in items:
        if item.age_min <= age <= item.age_max:
            given = grant(item, award.share)
            if given is not None:
                found.append(given)
    return found

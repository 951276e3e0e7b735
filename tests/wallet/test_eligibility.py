"""Who gets what: age on valid_from, income bands, overrides, rounding down."""
from __future__ import annotations

from datetime import date

import pytest

from pasdienst.wallet.eligibility import Award, award_for, entry, grants_for
from pasdienst.wallet.models import FULL, OVERRIDE, SLIDING, age_on
from pasdienst.wallet.schemes import parse_scheme

from .helpers import SCHEME

SPEC = parse_scheme(SCHEME)
START = SPEC.valid_from  # 2027-01-01


def award(income: int | None, override: str | None = None) -> Award | None:
    return award_for(income, override, income_limit=SPEC.income_limit, sliding_scale=SPEC.sliding_scale)


@pytest.mark.parametrize(
    "income, expected",
    [
        (10000, Award(FULL, 10000)),
        (12000, Award(FULL, 10000)),  # up to the limit, inclusive
        (12001, Award(SLIDING, 5000)),
        (13000, Award(SLIDING, 5000)),  # up to the band, inclusive
        (13001, None),  # beyond the last band: nothing
    ],
)
def test_income_gives_full_a_sliding_share_or_nothing(income, expected):
    assert award(income) == expected


def test_a_case_workers_override_gives_the_full_entitlement_whatever_the_income():
    assert award(25000, "keukentafelgesprek") == Award(OVERRIDE, 10000)
    assert award(None, "stille armoede gesignaleerd") == Award(OVERRIDE, 10000)


def test_without_income_and_without_override_there_is_nothing_to_go_on():
    assert award(None) is None


@pytest.mark.parametrize(
    "born, kinds",
    [
        (date(2023, 1, 2), ["cheque"]),  # 3 on 1 January 2027
        (date(2023, 1, 1), ["budget", "punchcard", "cheque"]),  # turns 4 on the reference day: inclusive
        (date(2009, 1, 2), ["budget", "punchcard", "cheque"]),  # 17 until tomorrow: inclusive
        (date(2009, 1, 1), []),  # 18 on the reference day
        (date(2027, 6, 1), []),  # not yet born on the reference day
    ],
)
def test_age_is_taken_on_valid_from_within_inclusive_brackets(born, kinds):
    assert [g.kind for g in grants_for(SPEC.items, born, START, Award(FULL, 10000))] == kinds


def test_a_share_rounds_down_to_whole_cents_and_whole_strips():
    grants = {g.kind: g for g in grants_for(SPEC.items, date(2015, 5, 5), START, Award(SLIDING, 5000))}
    assert grants["budget"].cents == 7500
    assert grants["cheque"].cents == 3750  # half of 75.01 is 37.505: rounded down
    assert grants["punchcard"].cents == 5 * 450


def test_a_share_too_small_for_one_strip_gives_no_punch_card():
    grants = grants_for(SPEC.items, date(2015, 5, 5), START, Award(SLIDING, 999))
    assert {g.kind: g.cents for g in grants} == {"budget": 1498, "cheque": 749}  # 0.999 strip: none


def test_a_birthday_on_29_february_counts_from_1_march_in_other_years():
    assert age_on(date(2016, 2, 29), date(2027, 2, 28)) == 10
    assert age_on(date(2016, 2, 29), date(2027, 3, 1)) == 11


# -- children who come during the year --------------------------------------------

def _entry(born: date, *, issue_day: date = date(2027, 7, 10), newcomer_since: date | None = None):
    return entry(born, valid_from=START, valid_until=SPEC.valid_until, issue_day=issue_day, newcomer_since=newcomer_since)


def test_a_child_born_during_the_year_is_aged_on_the_day_of_issue_and_gets_what_a_newborn_gets():
    born = date(2027, 3, 5)
    came = _entry(born)
    assert came.age_day == date(2027, 7, 10) and (came.months, came.of_months) == (10, 12)
    assert {g.kind for g in grants_for(SPEC.items, born, came, award(10000))} == {"cheque"}  # 0-17, not the 4-17 ones


def test_pro_rata_cuts_budgets_to_the_months_left_and_leaves_cheques_and_punch_cards_whole():
    newcomer = _entry(date(2016, 5, 1), newcomer_since=date(2027, 9, 20))
    assert (newcomer.age_day, newcomer.months) == (START, 4)  # September to December
    full = {g.kind: g.cents for g in grants_for(SPEC.items, date(2016, 5, 1), newcomer, award(10000))}
    cut = {g.kind: g.cents for g in grants_for(SPEC.items, date(2016, 5, 1), newcomer, award(10000), mid_year="pro_rata")}
    assert cut == {**full, "budget": full["budget"] * 4 // 12}
    assert cut["budget"] == 5000  # 150.00 for 4 of 12 months


def test_a_child_there_from_the_start_is_entitled_to_every_month():
    assert not _entry(date(2016, 5, 1)).mid_year and _entry(date(2016, 5, 1)).months == 12

"""The usage report's figures against the hand-computed world of ``world.py``.

Every number below is worked out from the table in ``world.py``'s docstring:
awarded per child of 4 and over 150 + 50 + 45 + 75 = 320.00, under 4 75.00.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from pasdienst.reports.usage import (
    AgeBandRow,
    CategoryRow,
    MerchantRow,
    Money,
    MonthRow,
    usage_report,
)
from pasdienst.wallet.models import Child

from .world import CLOTHES_SHOP, CODE, OTHER, SPORTS_CLUB, YEAR, build_world

pytestmark = pytest.mark.money

SPORT_AWARDED = 5 * (15000 + 4500)  # five children of 4+: budget and punch card
SCHOOL_AWARDED = 5 * 5000
CLOTHING_AWARDED = 7 * 7500


@pytest.fixture
def world(db, settings):
    return build_world(db, settings)


def report_of(world, code=CODE, year=YEAR):
    with world.db.read() as s:
        return usage_report(s, code, year)


def test_the_children_figures_match_the_hand_computed_world(world):
    r = report_of(world)
    assert (r.eligible_children, r.children_with_redemption) == (7, 4)  # T-1, T-3, T-4, T-6; T-7 was voided
    assert r.usage_share == 0.5714
    assert r.usage_band == "50-75"
    assert r.by_age_band == (
        AgeBandRow("0-3", 0, 3, eligible_children=2, children_with_redemption=1),
        AgeBandRow("4-11", 4, 11, eligible_children=3, children_with_redemption=2),
        AgeBandRow("12-17", 12, 17, eligible_children=2, children_with_redemption=1),
    )


def test_the_category_and_money_figures_match_the_hand_computed_world(world):
    r = report_of(world)
    assert r.by_category == (
        CategoryRow("sport_culture", children_awarded=5, children_with_redemption=1, redemptions=2,
                    awarded_cents=SPORT_AWARDED, spent_cents=10900, expired_cents=0,
                    outstanding_cents=SPORT_AWARDED - 10900),
        CategoryRow("school", children_awarded=5, children_with_redemption=1, redemptions=1,
                    awarded_cents=SCHOOL_AWARDED, spent_cents=5000, expired_cents=0,
                    outstanding_cents=SCHOOL_AWARDED - 5000),
        CategoryRow("clothing", children_awarded=7, children_with_redemption=3, redemptions=3,
                    awarded_cents=CLOTHING_AWARDED, spent_cents=12500, expired_cents=0,
                    outstanding_cents=CLOTHING_AWARDED - 12500),
    )
    # The reissue's carry-over moved T-4's balances but awarded nothing new.
    assert r.money == Money(awarded_cents=175000, spent_cents=28400, expired_cents=0, outstanding_cents=146600)


def test_months_are_amsterdam_months_and_a_voided_redemption_counts_nowhere(world):
    r = report_of(world)
    assert [m.month for m in r.by_month] == [f"2027-{m:02d}" for m in range(1, 13)]
    busy = {m.month: m for m in r.by_month if m.redemptions}
    assert busy == {
        "2027-02": MonthRow("2027-02", 1, 3000, 1),
        "2027-08": MonthRow("2027-08", 1, 5000, 1),  # 23:30 on 31 August in Amsterdam
        "2027-09": MonthRow("2027-09", 2, 10900, 1),  # two payments by one child
        "2027-10": MonthRow("2027-10", 1, 7500, 1),  # 22:30 UTC on 30 September is October in Amsterdam
        "2027-12": MonthRow("2027-12", 1, 2000, 1),  # R6 was voided
    }
    assert all((m.spent_cents, m.children_with_redemption) == (0, 0) for m in r.by_month if not m.redemptions)


def test_merchants_are_listed_most_money_first(world):
    r = report_of(world)
    assert r.by_merchant == (
        MerchantRow(world.merchants[CLOTHES_SHOP], CLOTHES_SHOP, 4, 17500, 3),
        MerchantRow(world.merchants[SPORTS_CLUB], SPORTS_CLUB, 2, 10900, 1),
    )


def test_after_year_end_what_was_left_is_expired_not_outstanding(world):
    world.close_year()
    r = report_of(world)
    assert r.money == Money(awarded_cents=175000, spent_cents=28400, expired_cents=146600, outstanding_cents=0)
    assert [(c.category, c.expired_cents, c.outstanding_cents) for c in r.by_category] == [
        ("sport_culture", SPORT_AWARDED - 10900, 0),
        ("school", SCHOOL_AWARDED - 5000, 0),
        ("clothing", CLOTHING_AWARDED - 12500, 0),
    ]
    # Expired passes still count as reached.
    assert (r.eligible_children, r.children_with_redemption) == (7, 4)


def test_the_other_municipality_has_its_own_figures(world):
    r = report_of(world, OTHER)
    assert (r.eligible_children, r.children_with_redemption) == (1, 1)
    assert r.money.spent_cents == 1234
    assert [m.name for m in r.by_merchant] == ["Sport Anderdorp"]


def test_a_year_without_passes_reports_zeros_for_twelve_months(world):
    r = report_of(world, year=2026)
    assert (r.eligible_children, r.children_with_redemption, r.usage_share, r.usage_band) == (0, 0, None, None)
    assert r.by_category == () and r.by_merchant == ()
    assert [b.eligible_children for b in r.by_age_band] == [0, 0, 0]
    assert len(r.by_month) == 12 and not any(m.redemptions for m in r.by_month)
    assert r.money == Money(0, 0, 0, 0)


def test_a_child_outside_the_age_bands_is_counted_in_other(world):
    # A child can be over 17 on the reference date (a case worker's override):
    # the bands must not lose it. Saar is made 18 on 2027-01-01.
    with world.db.transaction() as s:
        s.execute(update(Child).where(Child.child_ref == "T-7").values(birth_date=date(2008, 6, 1)))
    r = report_of(world)
    assert [(b.band, b.eligible_children, b.children_with_redemption) for b in r.by_age_band] == [
        ("0-3", 2, 1), ("4-11", 3, 2), ("12-17", 1, 1), ("other", 1, 0),
    ]
    assert r.eligible_children == 7


def test_a_redemption_taken_back_after_payment_counts_nowhere(world):
    world.take_back_sannes_cheque()
    r = report_of(world)
    assert (r.eligible_children, r.children_with_redemption) == (7, 3)  # Sanne no longer
    assert r.by_age_band[0] == AgeBandRow("0-3", 0, 3, eligible_children=2, children_with_redemption=0)
    clothing = r.by_category[2]
    assert (clothing.children_with_redemption, clothing.redemptions, clothing.spent_cents) == (2, 2, 9500)
    assert clothing.outstanding_cents == CLOTHING_AWARDED - 9500  # the cheque has its 30.00 back
    assert r.by_month[1] == MonthRow("2027-02", 0, 0, 0)
    assert r.by_merchant[0] == MerchantRow(world.merchants[CLOTHES_SHOP], CLOTHES_SHOP, 3, 14500, 2)
    assert r.money == Money(awarded_cents=175000, spent_cents=25400, expired_cents=0, outstanding_cents=149600)


def test_the_award_agrees_with_the_ledgers_issue_transfers(world):
    from pasdienst import books, ledger

    with world.db.read() as s:
        issued = ledger.kind_totals(s, CODE)[books.ISSUE]
    assert report_of(world).money.awarded_cents == issued == 175000


def test_a_reversed_issue_is_not_awarded(world):
    from sqlalchemy import select

    from pasdienst import ledger
    from pasdienst.ledger import Transfer
    from pasdienst.wallet.models import format_pass_number

    daan = world.current_pass("T-2")  # a cheque of 75.00, never used
    with world.db.transaction() as s:
        issue = s.execute(
            select(Transfer.id).where(Transfer.reference == format_pass_number(2027, daan.id), Transfer.kind == "issue")
        ).scalar_one()
        ledger.reverse(s, issue, reference="ten onrechte toegekend")
    r = report_of(world)
    assert r.by_category[2].awarded_cents == CLOTHING_AWARDED - 7500
    assert r.by_category[2].outstanding_cents == CLOTHING_AWARDED - 12500 - 7500
    assert r.money.awarded_cents == r.money.spent_cents + r.money.expired_cents + r.money.outstanding_cents

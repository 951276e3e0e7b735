"""The report's rules that need no database: shares, bands, ages, hiding small cells, charts."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pasdienst.errors import ValidationFailed
from pasdienst.reports import charts
from pasdienst.reports.outreach import DistrictRow, ReminderRow, WeekRow
from pasdienst.reports.usage import (
    publication_note,
    SUPPRESSED,
    AgeBandRow,
    CategoryRow,
    MerchantRow,
    Money,
    MonthRow,
    UsageReport,
    born_on_or_before,
    hidden_cells,
    hidden_table,
    month_starts,
    share,
    usage_band,
    usage_report,
    usage_table,
)
from pasdienst.wallet.models import age_on


def make_report(eligible=(10, 20, 30), used=(5, 10, 15), **over) -> UsageReport:
    bands = tuple(
        AgeBandRow(label, lo, hi, e, u)
        for (label, lo, hi), e, u in zip((("0-3", 0, 3), ("4-11", 4, 11), ("12-17", 12, 17)), eligible, used)
    )
    fields = dict(
        municipality="testdorp", municipality_name="Gemeente Testdorp", year=2027, reference_date=date(2027, 1, 1),
        eligible_children=sum(eligible), children_with_redemption=sum(used),
        by_category=(CategoryRow("school", 50, 20, 31, 250000, 90000, 1000, 159000),
                     CategoryRow("digital", 4, 3, 3, 120000, 100000, 0, 20000)),
        by_age_band=bands,
        by_month=(MonthRow("2027-01", 3, 1500, 3), MonthRow("2027-02", 12, 6000, 9)),
        by_merchant=(MerchantRow(7, "Bruna Centrum", 12, 6000, 9), MerchantRow(8, "@Fietsen", 3, 1500, 2)),
        money=Money(370000, 190000, 1000, 179000),
    )
    fields.update(over)
    return UsageReport(**fields)
# -- shares and bands ----------------------------------------------------------------

def test_a_share_is_rounded_half_up_to_four_decimals():
    assert share(4, 7) == 0.5714
    assert share(1, 3) == 0.3333
    assert share(2, 3) == 0.6667
    assert share(1, 16) == 0.0625
    assert share(1, 32) == 0.0313  # 0.03125: half up, not to even
    assert share(0, 0) is None


@pytest.mark.parametrize(
    ("used", "eligible", "band"),
    [(0, 10, "<25"), (249, 1000, "<25"), (1, 4, "25-50"), (4999, 10000, "25-50"), (1, 2, "50-75"),
     (7499, 10000, "50-75"), (3, 4, ">75"), (10, 10, ">75")],
)
def test_the_usage_band_is_decided_on_the_exact_fraction(used, eligible, band):
    assert usage_band(used, eligible) == band


def test_a_share_just_under_a_band_edge_stays_in_the_lower_band_though_it_rounds_up():
    assert share(49999, 100000) == 0.5
    assert usage_band(49999, 100000) == "25-50"


# -- ages -------------------------------------------------------------------------------

@given(
    born=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    reference=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    age=st.integers(min_value=0, max_value=19),
)
def test_the_age_cut_off_agrees_with_the_wallets_age_rule(born, reference, age):
    assert (age_on(born, reference) >= age) == (born <= born_on_or_before(reference, age))


def test_a_29_february_birthday_counts_from_1_march():
    assert born_on_or_before(date(2027, 3, 1), 4) == date(2023, 3, 1)
    assert born_on_or_before(date(2028, 2, 29), 4) == date(2024, 2, 29)
    assert born_on_or_before(date(2028, 2, 29), 5) == date(2023, 2, 28)


def test_the_months_run_from_the_first_to_the_last_month_of_the_scheme():
    assert month_starts(date(2027, 3, 1), date(2028, 2, 28)) == [
        date(2027, m, 1) for m in range(3, 13)
    ] + [date(2028, 1, 1), date(2028, 2, 1), date(2028, 3, 1)]


# -- exact for the municipality's own staff ---------------------------------------------

def test_the_staff_figures_are_exact_small_and_zero_counts_included():
    f = make_report(eligible=(0, 1, 3), used=(0, 1, 2)).figures()
    assert (f["eligible_children"], f["children_with_redemption"], f["usage_share"], f["usage_band"]) == (4, 3, 0.75, ">75")
    assert [(b["eligible_children"], b["children_with_redemption"], b["usage_share"]) for b in f["by_age_band"]] == [
        (0, 0, None), (1, 1, 1.0), (3, 2, 0.6667),  # nobody in a band: no share, and 0 is 0
    ]
    assert f["by_category"][1]["children_awarded"] == 4 and f["by_category"][1]["usage_share"] == 0.75
    assert [m["children_with_redemption"] for m in f["by_month"]] == [3, 9]
    assert [m["children_with_redemption"] for m in f["by_merchant"]] == [9, 2]
    assert "publication" not in f
    assert SUPPRESSED not in str(f)


def test_the_staff_figures_and_the_publication_version_differ_only_in_the_hidden_cells():
    report = make_report(eligible=(10, 20, 3), used=(5, 10, 2))
    exact, published = report.figures(), report.published()
    assert published.pop("publication") == {"min_children": 5, "note": publication_note()}

    def differences(a, b, path=""):
        if isinstance(a, dict):
            return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
        if isinstance(a, list):
            return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
        return [] if a == b else [(path, b)]

    assert set(exact) == set(published)
    # every difference is a cell the publication hides (or the band of a hidden share)
    assert all(value in (SUPPRESSED, None) for _, value in differences(exact, published))
    assert (".by_category[1].children_awarded", SUPPRESSED) in differences(exact, published)


# -- hiding small cells (the publication version) -------------------------------------

def test_counts_of_children_under_five_are_hidden_and_so_are_their_shares():
    p = make_report(eligible=(10, 20, 3), used=(5, 10, 2)).published()
    assert [b["eligible_children"] for b in p["by_age_band"]][2] == SUPPRESSED
    assert p["by_age_band"][2]["usage_share"] == SUPPRESSED
    assert p["by_category"][1] == {
        "category": "digital", "children_awarded": SUPPRESSED, "children_with_redemption": SUPPRESSED,
        "usage_share": SUPPRESSED, "redemptions": 3, "awarded_cents": 120000, "spent_cents": 100000,
        "expired_cents": 0, "outstanding_cents": 20000,
    }
    assert p["by_category"][0]["children_awarded"] == 50 and p["by_category"][0]["usage_share"] == 0.4
    assert [m["children_with_redemption"] for m in p["by_month"]] == [SUPPRESSED, 9]
    assert [m["children_with_redemption"] for m in p["by_merchant"]] == [9, SUPPRESSED]


def test_nothing_is_hidden_when_every_group_has_five_children_or_more():
    p = make_report().published()
    assert (p["eligible_children"], p["children_with_redemption"], p["usage_share"], p["usage_band"]) == (60, 30, 0.5, "50-75")
    assert [(b["eligible_children"], b["children_with_redemption"], b["usage_share"]) for b in p["by_age_band"]] == [
        (10, 5, 0.5), (20, 10, 0.5), (30, 15, 0.5),
    ]


def test_money_and_redemption_counts_are_never_hidden():
    p = make_report(eligible=(1, 1, 1), used=(1, 0, 0)).published()
    assert p["money"] == {"awarded_cents": 370000, "spent_cents": 190000, "expired_cents": 1000, "outstanding_cents": 179000}
    assert [m["redemptions"] for m in p["by_month"]] == [3, 12]
    assert p["eligible_children"] == SUPPRESSED and p["usage_share"] == SUPPRESSED and p["usage_band"] is None


def test_a_lone_hidden_age_band_takes_the_smallest_shown_band_with_it():
    # 63 - 30 - 30 would give away the 3 children of 0-3.
    p = make_report(eligible=(3, 30, 30), used=(0, 12, 20)).published()
    assert [b["eligible_children"] for b in p["by_age_band"]] == [SUPPRESSED, SUPPRESSED, 30]
    assert [b["usage_share"] for b in p["by_age_band"]] == [SUPPRESSED, SUPPRESSED, 0.6667]
    # In the used column the only small cell is a zero: it gives nothing away.
    assert [b["children_with_redemption"] for b in p["by_age_band"]] == [SUPPRESSED, 12, 20]


@pytest.mark.parametrize(
    ("values", "total", "hidden"),
    [
        ([0, 30, 30], 60, [True, False, False]),  # a hidden zero reveals nobody
        ([3, 30, 25], 58, [True, False, True]),
        ([3, 2, 30], 35, [True, True, False]),  # two hidden cells: only their sum is known
        ([3, 0, 30], 33, [True, True, True]),  # ...unless the other is an empty band
        ([1, 2, 1], 4, [True, True, True]),  # the total itself is hidden
        ([5, 5, 5], 15, [False, False, False]),
    ],
)
def test_which_cells_of_an_additive_column_are_hidden(values, total, hidden):
    assert hidden_cells(values, total) == hidden


# -- hiding small rests: a part shown with its total tells the rest ---------------------

def reminder(households: int, used: int) -> ReminderRow:
    return ReminderRow(1, "November", date(2027, 11, 1), datetime(2027, 11, 1, 8, tzinfo=timezone.utc),
                       households, households, used, used, 4, True)


def test_18_of_20_households_after_a_reminder_is_hidden_because_it_names_the_2_who_did_not():
    report = make_report(reminders=(reminder(20, 18), reminder(20, 15)))
    published = report.published()["reminders"]
    assert [(r["households"], r["households_used"], r["share_used"]) for r in published] == [
        (20, SUPPRESSED, SUPPRESSED), (20, 15, 0.75),
    ]
    assert [(r["children"], r["children_used"]) for r in published] == [(20, SUPPRESSED), (20, 15)]


def test_18_of_20_children_in_a_district_is_hidden_and_so_is_a_second_district_that_would_give_it_away():
    # 28 used in total - 10 in 9000 would give the 18 of 9251 again, so 9000's part is hidden too.
    districts = (DistrictRow("9251", 20, 18, 40, 4000), DistrictRow("9000", 30, 10, 20, 2000), DistrictRow("8401", 40, 20, 9, 900))
    report = make_report(eligible=(30, 30, 30), used=(16, 16, 16), by_district=districts)
    published = report.published()["by_district"]
    assert [(d["district"], d["eligible_children"], d["children_with_redemption"], d["usage_share"]) for d in published] == [
        ("9251", 20, SUPPRESSED, SUPPRESSED), ("9000", 30, SUPPRESSED, SUPPRESSED), ("8401", 40, 20, 0.5),
    ]
    assert [d["redemptions"] for d in published] == [40, 20, 9]


def test_when_only_one_cell_of_a_column_would_be_small_the_smallest_shown_cell_is_hidden_with_it():
    # Only 0-3 has a small rest (2 of 20 did not use the pass); the used column
    # adds up to 48, so 4-11 (the smallest shown) goes too.
    p = make_report(eligible=(20, 30, 40), used=(18, 10, 20)).published()
    assert (p["eligible_children"], p["children_with_redemption"], p["usage_share"]) == (90, 48, 0.5333)
    assert [(b["eligible_children"], b["children_with_redemption"]) for b in p["by_age_band"]] == [
        (20, SUPPRESSED), (30, SUPPRESSED), (40, 20),
    ]


def test_a_total_of_18_users_among_20_children_is_hidden_and_no_table_adds_up_to_it():
    p = make_report(eligible=(6, 7, 7), used=(6, 6, 6)).published()
    assert (p["eligible_children"], p["children_with_redemption"], p["usage_share"], p["usage_band"]) == (
        20, SUPPRESSED, SUPPRESSED, None,
    )
    assert [b["children_with_redemption"] for b in p["by_age_band"]] == [SUPPRESSED] * 3


def test_a_category_and_a_running_total_with_a_small_rest_are_hidden():
    weeks = tuple(WeekRow(f"2027-W{i:02d}", date(2027, 1, 4), 0, 0, 0, 0, n) for i, n in enumerate((10, 20, 28)))
    p = make_report(by_category=(CategoryRow("school", 20, 18, 31, 250000, 90000, 1000, 159000),),
                    eligible=(10, 10, 10), used=(2, 2, 2), by_week=weeks).published()
    assert (p["by_category"][0]["children_awarded"], p["by_category"][0]["children_with_redemption"]) == (20, SUPPRESSED)
    assert p["by_category"][0]["usage_share"] == SUPPRESSED
    assert [(w["reached_children"], w["reached_share"]) for w in p["by_week"]] == [
        (10, 0.3333), (20, 0.6667), (SUPPRESSED, SUPPRESSED),
    ]


def test_the_staff_figures_keep_the_exact_numbers_that_the_publication_hides():
    districts = (DistrictRow("9251", 20, 18, 40, 4000), DistrictRow("9000", 30, 10, 20, 2000))
    f = make_report(eligible=(6, 7, 7), used=(6, 6, 6), by_district=districts, reminders=(reminder(20, 18),)).figures()
    assert (f["eligible_children"], f["children_with_redemption"]) == (20, 18)
    assert [(d["eligible_children"], d["children_with_redemption"]) for d in f["by_district"]] == [(20, 18), (30, 10)]
    assert (f["reminders"][0]["households_used"], f["reminders"][0]["share_used"]) == (18, 0.9)


@pytest.mark.parametrize(
    ("rows", "total", "wholes", "parts"),
    [
        ([(20, 18), (30, 10)], (50, 28), [False, False], [True, True]),
        ([(20, 10), (30, 15)], (50, 25), [False, False], [False, False]),
        ([(3, 1), (30, 10), (30, 20)], (63, 31), [True, True, False], [True, True, False]),
        ([(20, 20), (30, 30)], (50, 50), [False, False], [True, True]),  # everyone used it: the rest is 0
    ],
)
def test_which_wholes_and_parts_of_an_additive_table_are_hidden(rows, total, wholes, parts):
    assert hidden_table(rows, total) == (wholes, parts)


def test_a_year_outside_2000_to_2100_is_refused_before_any_query():
    for year in (1999, 2101, "2027", True, None):
        with pytest.raises(ValidationFailed):
            usage_report(None, "testdorp", year)
# -- CSV --------------------------------------------------------------------------------

def test_csv_tables_give_euros_with_a_decimal_comma_and_keep_hidden_cells_hidden():
    p = make_report(eligible=(10, 20, 3), used=(5, 10, 2)).published()
    header, rows = usage_table(p, "by_category")
    assert header[:4] == ["category", "children_awarded", "children_with_redemption", "usage_share"]
    assert rows[0] == ["school", 50, 20, "0,4000", 31, "2500,00", "900,00", "10,00", "1590,00"]
    assert rows[1][:4] == ["digital", SUPPRESSED, SUPPRESSED, SUPPRESSED]
    assert usage_table(p, "by_merchant")[1][1] == [8, "@Fietsen", 3, "15,00", SUPPRESSED]


def test_an_unknown_csv_table_is_refused():
    with pytest.raises(ValidationFailed):
        usage_table(make_report().published(), "children")


# -- charts -----------------------------------------------------------------------------

def test_a_chart_is_an_accessible_image_without_style_attributes_and_escapes_names():
    svg = str(charts.bar_chart(
        "c1", "Per aanbieder", "Besteding", [charts.Bar('<script>alert(1)</script> & "Zo"', 1234, "€ 12"),
                                             charts.Bar("Klein", None, SUPPRESSED)],
    ))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="c1"')
    assert 'role="img" aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Per aanbieder</title><desc id="c1-desc">Besteding</desc>' in svg
    assert "<script" not in svg and "&lt;script&gt;" in svg and "&amp; &#34;Zo&#34;" in svg
    assert "style=" not in svg
    assert svg.count("<rect ") == 1  # the hidden bar is text only
    assert f">{SUPPRESSED.replace('<', '&lt;')}</text>" in svg


def test_the_line_chart_marks_its_spans_and_scales_to_round_ticks():
    svg = str(charts.line_chart(
        "m", "Per maand", "Betalingen", [(f"m{i}", v) for i, v in enumerate([3, 5, 9, 4])],
        value_text=lambda v: str(int(v)), spans=[(2, 2, "piek")],
    ))
    assert svg.count("<circle ") == 4 and "piek" in svg
    assert re.findall(r'text-anchor="end" fill="#57606a" font-size="11">(\d+)<', svg) == ["0", "5", "10"]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [(9, [0, 2.5, 5, 7.5, 10]), (100, [0, 25, 50, 75, 100]), (0, [0, 1]), (1234, [0, 500, 1000, 1500])],
)
def test_nice_ticks(maximum, ticks):
    assert charts.nice_ticks(maximum) == ticks


def test_whole_ticks_never_step_below_one():
    assert charts.nice_ticks(2, whole=True) == [0, 1, 2]


def test_no_day_of_the_year_is_lost_between_month_buckets():
    starts = month_starts(date(2027, 1, 1), date(2027, 12, 31))
    days = sum((b - a).days for a, b in zip(starts, starts[1:]))
    assert days == 365 and starts[-1] - timedelta(days=1) == date(2027, 12, 31)

"""``/admin/gebruik``: the usage report as a page with charts (admin and finance).

Parse the year, one read-only call of the report, then only presentation:
Dutch labels, and the same numbers drawn as SVG and listed in tables.
Nothing here computes a figure of its own. ``/admin/gebruik`` shows the
exact figures to the municipality's own staff; ``/admin/gebruik/publicatie``
is the same page as it may be published outside it, small cells hidden.
"""
from __future__ import annotations

from typing import Any

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request
from markupsafe import Markup

from .. import labels as dutch
from ..catalogue import sentence

from ..access.web import current_actor, requires
from ..clock import today as clock_today
from ..csvsafe import csv_bytes
from ..errors import ValidationFailed
from ..web import parsing
from ..money import parse_euros
from . import charts
from .outreach import REMINDER_WEEKS, UNKNOWN_DISTRICT
from .nonusers import CSV_COLUMNS, MAX_UNDER_CENTS, Criteria, csv_rows, export_non_users, non_users
from .usage import (
    CSV_TABLES,
    SUPPRESSED,
    USAGE_BANDS,
    YEAR_MAX,
    YEAR_MIN,
    publication_note,
    report_years,
    usage_report,
    usage_table,
)
from ..web.extensions import get_db, get_settings
from ..web.dutch import notice, told
from ..web.writes import write

pages = Blueprint("reports_pages", __name__)

AGE_BAND_TITLES = {"0-3": "0 t/m 3 jaar", "4-11": "4 t/m 11 jaar", "12-17": "12 t/m 17 jaar", "other": "Andere leeftijd"}
USAGE_BAND_TITLES = {"<25": "minder dan 25 %", "25-50": "25 tot 50 %", "50-75": "50 tot 75 %", ">75": "75 % of meer"}
MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)
MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
#: How many merchants the chart shows; the table lists them all.
TOP_MERCHANTS = 10


category_title = dutch.category_title


def month_title(month: str, *, short: bool = False) -> str:
    year, number = month.split("-")
    if short:
        return MONTHS_SHORT[int(number) - 1]
    return f"{MONTHS[int(number) - 1]} {year}"


def count_text(value: int | str) -> str:
    if isinstance(value, str):
        return value
    return dutch.number(value)


def percent_text(value: float | str | None) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "–"
    return f"{value * 100:.1f}".replace(".", ",") + " %"


euro_text = dutch.euros
_whole_euros = dutch.whole_euros


def _share_bars(rows: list[dict[str, Any]], title_of: Any, key: str) -> list[charts.Bar]:
    bars = []
    for row in rows:
        value = row["usage_share"]
        shown = None if isinstance(value, str) or value is None else value * 100
        bars.append(charts.Bar(title_of(row[key]), shown, percent_text(value)))
    return bars


_BAND_TICKS = [(0, "0 %"), (25, "25 %"), (50, "50 %"), (75, "75 %"), (100, "100 %")]


def week_title(starts: str) -> str:
    """``2027-09-06`` → ``6 sep``: the week by its first day, as the table and the chart name it."""
    year, month, day = starts.split("-")
    return f"{int(day)} {MONTHS_SHORT[int(month) - 1]}"


def district_title(code: str) -> str:
    return "Onbekend" if code == UNKNOWN_DISTRICT else code


def _week_spans(weeks: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """The weeks that start in the school-start season (15 August to 30 September) and in December."""
    spans = []
    for label, test in (
        ("start schooljaar", lambda m, d: (m == 8 and d >= 15) or m == 9),
        ("december", lambda m, d: m == 12),
    ):
        found = [i for i, w in enumerate(weeks) if test(int(w["starts"][5:7]), int(w["starts"][8:10]))]
        if found:
            spans.append((found[0], found[-1], label))
    return spans


def _week_axis(weeks: list[dict[str, Any]]) -> list[str]:
    """Under the weekly charts: the month's short name at its first week, nothing at the others."""
    labels, seen = [], set()
    for w in weeks:
        month = w["starts"][5:7]
        labels.append("" if month in seen else MONTHS_SHORT[int(month) - 1])
        seen.add(month)
    return labels


def _reach_charts(p: dict[str, Any], *, publication: bool) -> dict[str, Markup]:
    weeks = p.get("by_week", [])
    spans, axis = _week_spans(weeks), _week_axis(weeks)
    # A hidden running total (publication) draws at the last value shown, so the line never drops.
    reached, last = [], 0.0
    for w in weeks:
        value = w["reached_share"]
        if isinstance(value, (int, float)):
            last = value * 100
        reached.append((f"week van {week_title(w['starts'])}", last))
    districts = p.get("by_district", [])
    reminders = p.get("reminders", [])
    return {
        "week": charts.line_chart(
            "chart-week",
            sentence("report.week_title"),
            sentence("report.week_caption"),
            [(f"week van {week_title(w['starts'])}", w["redemptions"]) for w in weeks],
            value_text=lambda v: count_text(int(v)), spans=spans, axis_labels=axis,
        ),
        "reached": charts.line_chart(
            "chart-reached",
            sentence("report.reached_title"),
            sentence("report.reached_caption") + (sentence("report.hidden_reached") if publication else ""),
            reached,
            value_text=lambda v: f"{v:.0f} %", spans=spans, axis_labels=axis, maximum=100, whole=False,
        ),
        "district": charts.bar_chart(
            "chart-district",
            sentence("report.district_title"),
            sentence("report.district_caption") + _hidden(publication, adds_up=True),
            _share_bars(districts, district_title, "district"),
            maximum=100, ticks=_BAND_TICKS,
        ),
        "reminders": charts.bar_chart(
            "chart-reminders",
            sentence("report.reminders_title"),
            sentence("report.reminders_caption") + _hidden(publication),
            [charts.Bar(r["title"], None if isinstance(r["share_used"], str) or r["share_used"] is None
                        else r["share_used"] * 100, percent_text(r["share_used"])) for r in reminders],
            maximum=100, ticks=_BAND_TICKS,
        ),
    }


def _hidden(publication: bool, *, adds_up: bool = False) -> str:
    """What a share chart of the publication version adds to its caption: why a group reads "<5" (a small group,
    or a small part or rest of it), and, for groups that add up to the total, that a second one may be hidden."""
    if not publication:
        return ""
    said = sentence("report.hidden_share", {"suppressed": SUPPRESSED})
    return said + sentence("report.hidden_second") if adds_up else said


def usage_charts(p: dict[str, Any], *, publication: bool = False) -> dict[str, Markup]:
    """The page's charts, from the report's figures or its publication version."""
    months = p["by_month"]
    index = {m["month"][5:]: i for i, m in enumerate(months)}
    spans = []
    school_start = [index[month] for month in ("08", "09") if month in index]
    if school_start:
        spans.append((school_start[0], school_start[-1], "start schooljaar"))
    if "12" in index:
        spans.append((index["12"], index["12"], "december"))
    money_rows = [
        (category_title(c["category"]), (c["spent_cents"], c["expired_cents"], c["outstanding_cents"]),
         _whole_euros(c["awarded_cents"]))
        for c in p["by_category"]
    ]
    m = p["money"]
    money_rows.insert(0, ("Totaal", (m["spent_cents"], m["expired_cents"], m["outstanding_cents"]), _whole_euros(m["awarded_cents"])))
    merchants = p["by_merchant"][:TOP_MERCHANTS]
    return {**_reach_charts(p, publication=publication), **{
        "category": charts.bar_chart(
            "chart-category",
            sentence("report.category_title"),
            sentence("report.category_caption") + _hidden(publication),
            _share_bars(p["by_category"], category_title, "category"),
            maximum=100, ticks=_BAND_TICKS,
        ),
        "age": charts.bar_chart(
            "chart-age",
            sentence("report.age_title"),
            sentence("report.age_caption") + _hidden(publication, adds_up=True),
            _share_bars(p["by_age_band"], lambda b: AGE_BAND_TITLES.get(b, b), "band"),
            maximum=100, ticks=_BAND_TICKS,
        ),
        "month": charts.line_chart(
            "chart-month",
            sentence("report.month_title"),
            sentence("report.month_caption"),
            [(month_title(x["month"], short=True), x["redemptions"]) for x in months],
            value_text=lambda v: count_text(int(v)),
            spans=spans,
        ),
        "money": charts.stacked_bar_chart(
            "chart-money",
            sentence("report.money_title"),
            sentence("report.money_caption"),
            money_rows,
            [charts.Segment("Besteed", charts.SERIES[0]), charts.Segment("Vervallen", charts.SERIES[2]),
             charts.Segment("Nog te besteden", charts.SERIES[1])],
            value_text=_whole_euros,
        ),
        "merchant": charts.bar_chart(
            "chart-merchant",
            sentence("report.merchant_title"),
            sentence("report.merchant_caption", {"count": dutch.number(len(merchants))}),
            [charts.Bar(x["name"], x["spent_cents"], _whole_euros(x["spent_cents"])) for x in merchants],
            label_width=200,
        ),
    }}


def _year(today_year: int) -> int:
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return today_year
    year = parsing.whole_number(raw, low=YEAR_MIN, high=YEAR_MAX)
    if year is None:
        raise ValidationFailed(f"choose a year from {YEAR_MIN} to {YEAR_MAX}", refusal="year_range", low=YEAR_MIN, high=YEAR_MAX)
    return year


def _usage_page(*, publication: bool) -> str:
    actor = current_actor()
    code = actor.municipality_code
    assert code is not None  # admin and finance always belong to a municipality
    this_year = clock_today(get_settings(current_app).today).year
    year = _year(this_year)
    with get_db(current_app).read() as session:
        report = usage_report(session, code, year)
        years = sorted(set(report_years(session, code)) | {this_year, year}, reverse=True)
    shown = report.published() if publication else report.figures()
    return render_template(
        "reports/usage.html",
        active="usage",
        r=shown,
        publication=publication,
        publication_note=publication_note(),
        csv_path="/admin/gebruik/publicatie.csv" if publication else "/admin/gebruik.csv",
        municipality_name=report.municipality_name,
        reference_date=report.reference_date,
        year=year,
        years=years,
        charts=usage_charts(shown, publication=publication),
        csv_tables=CSV_TABLES,
        usage_bands=[(band, USAGE_BAND_TITLES[band]) for band in USAGE_BANDS],
        category_title=category_title,
        age_band_title=lambda b: AGE_BAND_TITLES.get(b, b),
        month_title=month_title,
        week_title=week_title,
        district_title=district_title,
        reminder_weeks=REMINDER_WEEKS,
        count_text=count_text,
        percent_text=percent_text,
        euro_text=euro_text,
        suppressed=SUPPRESSED,
    )


@pages.get("/admin/gebruik")
@requires("admin", "finance")
def usage_page() -> str:
    return _usage_page(publication=False)


def dutch_table(report: dict[str, Any], table: str) -> tuple[list[str], list[list[object]]]:
    """One table of the report as the page's CSV download: the API's table (``usage_table``, the same
    figures) with Dutch column titles, and categories, age bands and the usage band named as on the page."""
    header, rows = usage_table(report, table)
    named = {
        "category": category_title, "band": lambda b: AGE_BAND_TITLES.get(b, b),
        "figure": lambda f: dutch.USAGE_FIGURE_TITLES.get(f, f), "district": district_title,
        "giver_kind": lambda k: {"team": "team", "fund": "fonds"}.get(k, k),
    }
    out = []
    for row in rows:
        cells = [named[column](value) if column in named and isinstance(value, str) else value
                 for column, value in zip(header, row)]
        if table == "summary" and row[0] == "usage_band" and row[1]:
            cells[1] = USAGE_BAND_TITLES.get(str(row[1]), row[1])
        out.append(cells)
    return [dutch.USAGE_COLUMN_TITLES.get(column, column) for column in header], out


def _usage_csv(*, publication: bool) -> Response:
    actor = current_actor()
    code = actor.municipality_code
    assert code is not None
    year = _year(clock_today(get_settings(current_app).today).year)
    table = (request.args.get("table") or "").strip()
    if table not in CSV_TABLES:
        raise ValidationFailed("choose one of the page's tables to download", refusal="report_table_unknown")
    with get_db(current_app).read() as session:
        report = usage_report(session, code, year)
    header, rows = dutch_table(report.published() if publication else report.figures(), table)
    if publication:
        # The note that explains the hidden cells is the file's first line, wherever it goes.
        rows = [[*header], *rows]
        header = [publication_note()]
    kind = "gebruik-publicatie" if publication else "gebruik"
    return Response(csv_bytes(header, rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{kind}-{code}-{year}-{CSV_FILE_NAMES[table]}.csv"',
    })


#: The tables' names in the downloaded file's name.
CSV_FILE_NAMES = {
    "summary": "kerncijfers", "by_category": "per-categorie", "by_age_band": "per-leeftijd",
    "by_month": "per-maand", "by_merchant": "per-aanbieder", "by_week": "per-week", "by_district": "per-postcodegebied",
    "reminders": "na-herinneringen",
}


@pages.get("/admin/gebruik.csv")
@requires("admin", "finance")
def usage_page_csv() -> Response:
    """A table of the page as CSV for Excel, with Dutch column titles (the API's ``usage.csv`` keeps its own)."""
    return _usage_csv(publication=False)


@pages.get("/admin/gebruik/publicatie.csv")
@requires("admin", "finance")
def usage_publication_page_csv() -> Response:
    return _usage_csv(publication=True)


@pages.get("/admin/gebruik/publicatie")
@requires("admin", "finance")
def usage_publication_page() -> str:
    return _usage_page(publication=True)


# -- households that have not used the pass ------------------------------------------

def _reach_criteria(this_year: int, today: Any) -> tuple[Criteria, dict[str, str], str | None]:
    """The list's filter from the query: year, day, amount. Returns the criteria, the values as typed, an error."""
    typed = {
        "jaar": (request.args.get("jaar") or "").strip(),
        "tot": (request.args.get("tot") or "").strip(),
        "onder": (request.args.get("onder") or "").strip(),
    }
    error = None
    year = parsing.whole_number(typed["jaar"], low=YEAR_MIN, high=YEAR_MAX) if typed["jaar"] else this_year
    if year is None:
        error, year = told(notice("reach_year_range", low=YEAR_MIN, high=YEAR_MAX)), this_year
    until = parsing.day(typed["tot"]) if typed["tot"] else today
    if until is None:
        error, until = told(notice("reach_day_invalid")), today
    under = None
    if typed["onder"]:
        try:
            under = parse_euros(typed["onder"])
        except ValidationFailed:
            error = told(notice("reach_amount_invalid"))
        else:
            if not 0 < under <= MAX_UNDER_CENTS:
                error, under = told(notice("reach_amount_range")), None
    return Criteria(year, until, under), typed, error


@pages.get("/admin/bereik")
@requires("admin", "caseworker")
def non_users_page() -> Any:
    actor = current_actor()
    settings = get_settings(current_app)
    today = clock_today(settings.today)
    criteria, typed, error = _reach_criteria(today.year, today)
    page = parsing.whole_number(request.args.get("pagina"), low=1, high=1_000_000) or 1
    with get_db(current_app).read() as session:
        years = sorted(set(report_years(session, actor.municipality_code or "")) | {today.year, criteria.year}, reverse=True)
        found = None if error else non_users(session, actor, criteria, settings=settings, page=page)
    query = {"jaar": criteria.year, "tot": criteria.until.isoformat(), **({"onder": typed["onder"]} if criteria.under_cents else {})}
    return render_template(
        "reports/non_users.html", active="reach", years=years, criteria=criteria, typed=typed, error=error,
        found=found, query=urlencode(query), count_text=count_text, euro_text=euro_text,
    ), (422 if error else 200)


@pages.get("/admin/bereik.csv")
@requires("admin", "caseworker")
def non_users_csv() -> Any:
    """The whole list for a letter run; the download is audited."""
    actor = current_actor()
    settings = get_settings(current_app)
    today = clock_today(settings.today)
    criteria, _, error = _reach_criteria(today.year, today)
    if error:
        flash(error, "error")
        return redirect("/admin/bereik")
    rows = write(lambda session: export_non_users(session, actor, criteria, settings=settings))
    name = f"bereik-{actor.municipality_code}-{criteria.year}-{criteria.until.isoformat()}.csv"
    response = Response(csv_bytes(CSV_COLUMNS, csv_rows(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response

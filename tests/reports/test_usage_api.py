"""``GET /api/v1/municipalities/<code>/usage`` (+ ``usage.csv``), exact for the municipality's staff; its
publication version (``usage/publication``, ``usage/publication.csv``, small cells hidden); the pages
``/admin/gebruik`` and ``/admin/gebruik/publicatie``; and the dashboard agreeing with them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from pasdienst.redeem.models import Redemption
from pasdienst.merchants.models import Merchant
from pasdienst.reports.usage import publication_note, AgeBandRow, CategoryRow, Money, MonthRow, UsageReport
from tests.factories import OTHER_MUNICIPALITY, api_headers, bearer, login_as, make_token, make_user

from .world import CLOTHES_SHOP, CODE, SPORTS_CLUB, build_world
from tests.text import spaced

USAGE = f"/api/v1/municipalities/{CODE}/usage"
CSV = f"/api/v1/municipalities/{CODE}/usage.csv"
PUBLICATION = f"/api/v1/municipalities/{CODE}/usage/publication"
PUBLICATION_CSV = f"/api/v1/municipalities/{CODE}/usage/publication.csv"
ALL_PATHS = (USAGE, CSV, PUBLICATION, PUBLICATION_CSV)


@pytest.fixture
def world(db, settings):
    return build_world(db, settings)


def admin_headers(db, role="admin", municipality=CODE):
    return bearer(make_token(db, make_user(db, role, municipality=municipality)))


def written(db) -> tuple[int, int]:
    with db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Redemption)).scalar_one(),
            s.execute(select(func.count()).select_from(Merchant)).scalar_one(),
        )


# -- with the hand-computed world (moves money: both databases) --------------------

def _hidden_band(band, lo, hi):
    return {"band": band, "min_age": lo, "max_age": hi, "eligible_children": "<5",
            "children_with_redemption": "<5", "usage_share": "<5"}


#: Keys issue 15 added (weeks, districts, reminders; maatwerk): tests/reports/test_reach_figures.py and
#: tests/maatwerk/test_report.py check them.
REACH_KEYS = ("by_week", "by_district", "reminders", "maatwerk")


def contract_keys(body: dict) -> dict:
    """The report without the keys issue 15 added, which must be there as lists."""
    assert all(isinstance(body.pop(key), list) for key in REACH_KEYS)
    return body


BUSY = {"02": (1, 3000), "08": (1, 5000), "09": (2, 10900), "10": (1, 7500), "12": (1, 2000)}


@pytest.mark.money
def test_the_api_gives_the_municipalitys_own_staff_every_count_exactly(world, client, db):
    response = client.get(USAGE, query_string={"year": 2027}, headers=admin_headers(db))
    assert response.status_code == 200, response.get_json()
    assert contract_keys(response.get_json()) == {
        "municipality": CODE,
        "year": 2027,
        "eligible_children": 7,
        "children_with_redemption": 4,
        "usage_share": 0.5714,
        "usage_band": "50-75",
        "by_category": [
            {"category": "sport_culture", "children_awarded": 5, "children_with_redemption": 1, "usage_share": 0.2,
             "redemptions": 2, "awarded_cents": 97500, "spent_cents": 10900, "expired_cents": 0, "outstanding_cents": 86600},
            {"category": "school", "children_awarded": 5, "children_with_redemption": 1, "usage_share": 0.2,
             "redemptions": 1, "awarded_cents": 25000, "spent_cents": 5000, "expired_cents": 0, "outstanding_cents": 20000},
            {"category": "clothing", "children_awarded": 7, "children_with_redemption": 3, "usage_share": 0.4286,
             "redemptions": 3, "awarded_cents": 52500, "spent_cents": 12500, "expired_cents": 0, "outstanding_cents": 40000},
        ],
        "by_age_band": [
            {"band": "0-3", "min_age": 0, "max_age": 3, "eligible_children": 2, "children_with_redemption": 1, "usage_share": 0.5},
            {"band": "4-11", "min_age": 4, "max_age": 11, "eligible_children": 3, "children_with_redemption": 2,
             "usage_share": 0.6667},
            {"band": "12-17", "min_age": 12, "max_age": 17, "eligible_children": 2, "children_with_redemption": 1,
             "usage_share": 0.5},
        ],
        "by_month": [
            {"month": f"2027-{m:02d}", "redemptions": BUSY.get(f"{m:02d}", (0, 0))[0],
             "spent_cents": BUSY.get(f"{m:02d}", (0, 0))[1], "children_with_redemption": 1 if f"{m:02d}" in BUSY else 0}
            for m in range(1, 13)
        ],
        "money": {"awarded_cents": 175000, "spent_cents": 28400, "expired_cents": 0, "outstanding_cents": 146600},
        "by_merchant": [
            {"merchant_id": world.merchants[CLOTHES_SHOP], "name": CLOTHES_SHOP, "redemptions": 4, "spent_cents": 17500,
             "children_with_redemption": 3},
            {"merchant_id": world.merchants[SPORTS_CLUB], "name": SPORTS_CLUB, "redemptions": 2, "spent_cents": 10900,
             "children_with_redemption": 1},
        ],
    }


@pytest.mark.money
def test_the_publication_version_hides_every_count_under_five_and_says_so(world, client, db):
    response = client.get(PUBLICATION, query_string={"year": 2027}, headers=admin_headers(db))
    assert response.status_code == 200, response.get_json()
    body = contract_keys(response.get_json())
    assert body.pop("publication") == {"min_children": 5, "note": publication_note()}
    assert body == {
        "municipality": CODE,
        "year": 2027,
        "eligible_children": 7,
        "children_with_redemption": "<5",  # 4 children
        "usage_share": "<5",
        "usage_band": None,
        "by_category": [
            {"category": "sport_culture", "children_awarded": 5, "children_with_redemption": "<5", "usage_share": "<5",
             "redemptions": 2, "awarded_cents": 97500, "spent_cents": 10900, "expired_cents": 0, "outstanding_cents": 86600},
            {"category": "school", "children_awarded": 5, "children_with_redemption": "<5", "usage_share": "<5",
             "redemptions": 1, "awarded_cents": 25000, "spent_cents": 5000, "expired_cents": 0, "outstanding_cents": 20000},
            {"category": "clothing", "children_awarded": 7, "children_with_redemption": "<5", "usage_share": "<5",
             "redemptions": 3, "awarded_cents": 52500, "spent_cents": 12500, "expired_cents": 0, "outstanding_cents": 40000},
        ],
        "by_age_band": [_hidden_band("0-3", 0, 3), _hidden_band("4-11", 4, 11), _hidden_band("12-17", 12, 17)],
        "by_month": [
            {"month": f"2027-{m:02d}", "redemptions": BUSY.get(f"{m:02d}", (0, 0))[0],
             "spent_cents": BUSY.get(f"{m:02d}", (0, 0))[1], "children_with_redemption": "<5"}
            for m in range(1, 13)
        ],
        "money": {"awarded_cents": 175000, "spent_cents": 28400, "expired_cents": 0, "outstanding_cents": 146600},
        "by_merchant": [
            {"merchant_id": world.merchants[CLOTHES_SHOP], "name": CLOTHES_SHOP, "redemptions": 4, "spent_cents": 17500,
             "children_with_redemption": "<5"},
            {"merchant_id": world.merchants[SPORTS_CLUB], "name": SPORTS_CLUB, "redemptions": 2, "spent_cents": 10900,
             "children_with_redemption": "<5"},
        ],
    }


def csv_table(client, headers, path: str, name: str, kind: str = "gebruik") -> list[str]:
    response = client.get(path, query_string={"year": 2027, "table": name}, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{kind}-{CODE}-2027-{name}.csv"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return text[1:].split("\r\n")[:-1]


@pytest.mark.money
def test_each_csv_table_holds_the_exact_figures_in_euros(world, client, db):
    headers = admin_headers(db)

    def table(name: str) -> list[str]:
        return csv_table(client, headers, CSV, name)

    assert table("summary") == [
        "figure;value", f"municipality;{CODE}", "year;2027", "eligible_children;7", "children_with_redemption;4",
        "usage_share;0,5714", "usage_band;50-75", "awarded_eur;1750,00", "spent_eur;284,00", "expired_eur;0,00",
        "outstanding_eur;1466,00",
    ]
    assert table("by_category") == [
        "category;children_awarded;children_with_redemption;usage_share;redemptions;awarded_eur;spent_eur;expired_eur;outstanding_eur",
        "sport_culture;5;1;0,2000;2;975,00;109,00;0,00;866,00",
        "school;5;1;0,2000;1;250,00;50,00;0,00;200,00",
        "clothing;7;3;0,4286;3;525,00;125,00;0,00;400,00",
    ]
    assert table("by_age_band") == [
        "band;eligible_children;children_with_redemption;usage_share",
        "0-3;2;1;0,5000", "4-11;3;2;0,6667", "12-17;2;1;0,5000",
    ]
    months = table("by_month")
    assert months[0] == "month;redemptions;spent_eur;children_with_redemption"
    assert months[1] == "2027-01;0;0,00;0"
    assert months[9] == "2027-09;2;109,00;1"
    assert len(months) == 13
    assert table("by_merchant") == [
        "merchant_id;name;redemptions;spent_eur;children_with_redemption",
        f"{world.merchants[CLOTHES_SHOP]};Mode & Zo;4;175,00;3",
        f"{world.merchants[SPORTS_CLUB]};{SPORTS_CLUB};2;109,00;1",
    ]


@pytest.mark.money
def test_each_publication_csv_table_starts_with_the_note_and_hides_small_cells(world, client, db):
    headers = admin_headers(db)
    note = '"' + publication_note().replace('"', '""') + '"'

    def table(name: str) -> list[str]:
        return csv_table(client, headers, PUBLICATION_CSV, name, kind="gebruik-publicatie")

    assert table("summary") == [
        note, "figure;value", f"municipality;{CODE}", "year;2027", "eligible_children;7", "children_with_redemption;<5",
        "usage_share;<5", "usage_band;", "awarded_eur;1750,00", "spent_eur;284,00", "expired_eur;0,00",
        "outstanding_eur;1466,00",
    ]
    assert table("by_category") == [
        note,
        "category;children_awarded;children_with_redemption;usage_share;redemptions;awarded_eur;spent_eur;expired_eur;outstanding_eur",
        "sport_culture;5;<5;<5;2;975,00;109,00;0,00;866,00",
        "school;5;<5;<5;1;250,00;50,00;0,00;200,00",
        "clothing;7;<5;<5;3;525,00;125,00;0,00;400,00",
    ]
    assert table("by_age_band") == [
        note, "band;eligible_children;children_with_redemption;usage_share",
        "0-3;<5;<5;<5", "4-11;<5;<5;<5", "12-17;<5;<5;<5",
    ]
    months = table("by_month")
    assert months[:2] == [note, "month;redemptions;spent_eur;children_with_redemption"]
    assert months[2] == "2027-01;0;0,00;<5" and months[10] == "2027-09;2;109,00;<5"
    assert table("by_merchant") == [
        note, "merchant_id;name;redemptions;spent_eur;children_with_redemption",
        f"{world.merchants[CLOTHES_SHOP]};Mode & Zo;4;175,00;<5",
        f"{world.merchants[SPORTS_CLUB]};{SPORTS_CLUB};2;109,00;<5",
    ]


@pytest.mark.money
def test_a_merchant_name_that_is_a_formula_reaches_excel_as_text(world, client, db):
    hostile = '=HYPERLINK("https://evil.example";"klik")'
    with db.transaction() as s:
        s.execute(update(Merchant).where(Merchant.id == world.merchants[SPORTS_CLUB]).values(name=hostile))
    response = client.get(CSV, query_string={"year": 2027, "table": "by_merchant"}, headers=admin_headers(db))
    last = response.get_data(as_text=True).split("\r\n")[2]
    assert last == f'{world.merchants[SPORTS_CLUB]};"\'=HYPERLINK(""https://evil.example"";""klik"")";2;109,00;1'


@pytest.mark.money
def test_the_page_draws_every_chart_and_lists_the_same_numbers(world, client):
    login_as(client, "finance")
    response = client.get("/admin/gebruik?year=2027")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    svgs = re.findall(r"<svg [^>]*>", html)
    assert len(svgs) == 8  # the reminders' chart only once e-mails went out
    for chart in ("chart-category", "chart-age", "chart-month", "chart-money", "chart-merchant",
                  "chart-week", "chart-reached", "chart-district"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert "Mode &amp; Zo" in html and "Mode & Zo" not in html  # escaped in the SVG and the table
    assert "<dd>7</dd>" in html and "<dd>4</dd>" in html and "<dd>57,1 %</dd>" in html  # exact, for the staff
    assert "<dd>&lt;5" not in html and "&lt;5</td>" not in html and "&lt;5</text>" not in html
    assert "€ 1.750,00" in spaced(html) and "€ 284,00" in spaced(html) and "€ 1.466,00" in spaced(html)
    assert "september 2027" in html and "start schooljaar" in html
    for table in ("summary", "by_category", "by_age_band", "by_month", "by_merchant"):
        assert f'"/admin/gebruik.csv?year=2027&amp;table={table}"' in html  # Dutch headers; the API's keep theirs
    assert '<a href="/admin/gebruik/publicatie?year=2027">publicatieversie</a>' in html
    # The strict CSP allows no inline style or script.
    assert "style=" not in html and "<script" not in html


@pytest.mark.money
def test_the_publication_page_hides_small_cells_and_says_so(world, client):
    login_as(client, "admin")
    response = client.get("/admin/gebruik/publicatie?year=2027")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "publicatieversie" in html and 'class="warning publication-note"' in html
    assert "Publicatieversie: aantallen van minder dan vijf kinderen" in html
    assert "<dd>7</dd>" in html and html.count("<dd>&lt;5</dd>") == 2  # children who used it, and the share
    assert len(re.findall(r"<svg [^>]*>", html)) == 8
    for table in ("summary", "by_category", "by_age_band", "by_month", "by_merchant", "by_week", "by_district"):
        assert f'"/admin/gebruik/publicatie.csv?year=2027&amp;table={table}"' in html
    assert "/gebruik.csv?" not in html
    assert "style=" not in html and "<script" not in html


def _page_csv(client, path: str, table: str) -> list[str]:
    response = client.get(path, query_string={"year": 2027, "table": table})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data(as_text=True)[1:].split("\r\n")[:-1]


@pytest.mark.money
def test_the_pages_csv_downloads_have_dutch_headers_and_the_apis_figures(world, client, db):
    login_as(client, "finance")
    headers = admin_headers(db)
    assert _page_csv(client, "/admin/gebruik.csv", "summary") == [
        "Kengetal;Waarde", f"Gemeente;{CODE}", "Jaar;2027", "Kinderen met een pas;7", "Kinderen die de pas gebruikten;4",
        "Gebruik (deel van 1);0,5714", "Gebruiksklasse;50 tot 75 %", "Toegekend (euro);1750,00", "Besteed (euro);284,00",
        "Vervallen (euro);0,00", "Nog te besteden (euro);1466,00",
    ]
    assert _page_csv(client, "/admin/gebruik.csv", "by_category")[:2] == [
        "Categorie;Kinderen met tegoed;Kinderen die betaalden;Gebruik (deel van 1);Betalingen;Toegekend (euro);"
        "Besteed (euro);Vervallen (euro);Nog te besteden (euro)",
        "Sport en cultuur;5;1;0,2000;2;975,00;109,00;0,00;866,00",
    ]
    assert _page_csv(client, "/admin/gebruik.csv", "by_age_band")[:2] == [
        "Leeftijd;Kinderen met een pas;Kinderen die betaalden;Gebruik (deel van 1)", "0 t/m 3 jaar;2;1;0,5000",
    ]
    assert _page_csv(client, "/admin/gebruik.csv", "by_month")[0] == "Maand;Betalingen;Besteed (euro);Kinderen die betaalden"
    assert _page_csv(client, "/admin/gebruik.csv", "by_merchant")[0] == (
        "Nummer aanbieder;Aanbieder;Betalingen;Besteed (euro);Kinderen die betaalden"
    )
    # The same figures as the API's file, row by row; only the names differ.
    for table in ("summary", "by_category", "by_age_band", "by_month", "by_merchant"):
        page = [line.split(";")[1:] for line in _page_csv(client, "/admin/gebruik.csv", table)[1:]]
        api = [line.split(";")[1:] for line in csv_table(client, headers, CSV, table)[1:]]
        if table == "summary":
            page, api = page[:5] + page[6:], api[:5] + api[6:]  # the usage band is named in Dutch
        assert page == api, table
    response = client.get("/admin/gebruik.csv", query_string={"year": 2027, "table": "by_month"})
    assert response.headers["Content-Disposition"] == f'attachment; filename="gebruik-{CODE}-2027-per-maand.csv"'


@pytest.mark.money
def test_the_publication_pages_csv_starts_with_the_note_in_dutch(world, client):
    login_as(client, "admin")
    lines = _page_csv(client, "/admin/gebruik/publicatie.csv", "summary")
    assert lines[0] == '"' + publication_note().replace('"', '""') + '"'
    assert lines[1] == "Kengetal;Waarde" and "Kinderen die de pas gebruikten;<5" in lines


@pytest.mark.parametrize("query", [{"year": 2027}, {"year": 2027, "table": "bsn"}, {"year": "abc", "table": "summary"}])
def test_a_page_csv_without_a_known_table_or_year_is_refused_in_dutch(client, db, query):
    login_as(client, "admin")
    response = client.get("/admin/gebruik.csv", query_string=query)
    assert response.status_code == 422 and "Kies" in response.get_data(as_text=True)


def test_caseworkers_get_no_usage_csv(client, db):
    login_as(client, "caseworker")
    assert client.get("/admin/gebruik.csv", query_string={"year": 2027, "table": "summary"}).status_code == 403


def _dashboard_figures(html: str) -> dict[str, str]:
    return {label.strip(): figure for figure, label in re.findall(
        r'<span class="figure">([^<]*)</span>\s*<span class="figure-label">([^<(]*)', html
    )}


@pytest.mark.money
@pytest.mark.parametrize("taken_back", [False, True], ids=["as paid", "a payment taken back"])
def test_the_dashboard_and_the_usage_page_give_the_same_figures(world, client, app, taken_back):
    from dataclasses import replace
    from datetime import date

    if taken_back:
        world.take_back_sannes_cheque()  # Sanne no longer counts as a child who used the pass
    app.extensions["pasdienst.settings"] = replace(app.extensions["pasdienst.settings"], today=date(2027, 12, 20))
    login_as(client, "admin")
    usage = client.get("/admin/gebruik?year=2027").get_data(as_text=True)
    board = _dashboard_figures(client.get("/admin").get_data(as_text=True))
    used = 3 if taken_back else 4
    share = "42,9 %" if taken_back else "57,1 %"
    assert f"<dd>{used}</dd>" in usage and f"<dd>{share}</dd>" in usage
    assert board["kinderen met een pas voor 2027"] == "7"
    assert board["kinderen betaalden er al mee"] == str(used)
    assert board["van de kinderen met een pas betaalde er al mee"] == share


def _usage_figures(html: str) -> dict[str, str]:
    return dict(re.findall(r"<div><dt>([^<]*)</dt><dd>([^<]*)</dd></div>", html))


@pytest.mark.money
@pytest.mark.parametrize("today", ["2027-03-20", "2027-09-30", "2027-12-20", "2028-01-10"])
def test_on_any_day_the_dashboard_shows_the_usage_pages_figures_of_this_year(world, client, app, today):
    """Read from both pages as they are (not from expected numbers): the same three figures, whatever the
    day; in a new year before its passes are issued both say 0, 0 and –."""
    from dataclasses import replace
    from datetime import date

    app.extensions["pasdienst.settings"] = replace(app.extensions["pasdienst.settings"], today=date.fromisoformat(today))
    login_as(client, "admin")
    year = today[:4]
    usage = _usage_figures(client.get("/admin/gebruik").get_data(as_text=True))
    board = _dashboard_figures(client.get("/admin").get_data(as_text=True))
    assert (board[f"kinderen met een pas voor {year}"], board["kinderen betaalden er al mee"],
            board["van de kinderen met een pas betaalde er al mee"]) == (
        usage["Kinderen met een pas"], usage["Kinderen die de pas gebruikten"], usage["Gebruik"])
    if year == "2028":
        assert usage["Kinderen met een pas"] == "0" and usage["Gebruik"] == "–"


# -- access and bad input (nothing moves money: SQLite only) -------------------------

def test_finance_of_the_municipality_may_read_the_report_and_a_count_of_0_is_0(client, db):
    response = client.get(USAGE, query_string={"year": 2027}, headers=admin_headers(db, "finance"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["eligible_children"], body["children_with_redemption"], body["usage_share"]) == (0, 0, None)
    assert [b["eligible_children"] for b in body["by_age_band"]] == [0, 0, 0]
    assert all(m["children_with_redemption"] == 0 for m in body["by_month"])
    published = client.get(PUBLICATION, query_string={"year": 2027}, headers=admin_headers(db, "finance")).get_json()
    assert published["eligible_children"] == "<5"  # published: 0 is below five too


def test_an_admin_of_another_municipality_is_refused(client, db):
    make_user(db, "admin", municipality=CODE)
    for path in ALL_PATHS:
        response = client.get(path, query_string={"year": 2027}, headers=admin_headers(db, municipality=OTHER_MUNICIPALITY))
        assert response.status_code == 403
        assert response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("role", ["merchant", "caseworker"])
def test_merchants_and_caseworkers_may_not_read_the_report(client, db, role):
    for path in ALL_PATHS:
        response = client.get(path, query_string={"year": 2027}, headers=admin_headers(db, role))
        assert response.status_code == 403


def test_without_credentials_the_api_answers_401_and_the_page_sends_to_login(client, db):
    assert client.get(USAGE, query_string={"year": 2027}).status_code == 401
    for page in ("/admin/gebruik?year=2027", "/admin/gebruik/publicatie?year=2027"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?")


@pytest.mark.parametrize("year", [None, "", "abc", "1999", "2101", "2027.5"])
def test_a_missing_or_malformed_year_is_a_validation_error(client, db, year):
    headers = admin_headers(db)
    before = written(db)
    query = {} if year is None else {"year": year}
    for path in ALL_PATHS:
        response = client.get(path, query_string=query, headers=headers)
        assert response.status_code == 422
        body = response.get_json()
        assert body["code"] == "validation_error"
        assert "year" in body["errors"]
    assert written(db) == before


def test_an_unknown_csv_table_is_a_validation_error(client, db):
    for path in (CSV, PUBLICATION_CSV):
        response = client.get(path, query_string={"year": 2027, "table": "kinderen"}, headers=admin_headers(db))
        assert response.status_code == 422
        assert "table" in response.get_json()["errors"]


def test_the_session_cookie_works_for_the_csv_links_of_the_page(client, db):
    login_as(client, "admin")
    response = client.get(CSV, query_string={"year": 2027, "table": "by_month"}, headers=api_headers(client))
    assert response.status_code == 200
    assert client.get(CSV, query_string={"year": 2027, "table": "by_month"}).status_code == 200  # a plain link: GET needs no CSRF


@pytest.mark.parametrize("year", ["abc", "1999", "20270"])
def test_the_page_refuses_a_malformed_year_in_dutch(client, db, year):
    login_as(client, "admin")
    before = written(db)
    response = client.get(f"/admin/gebruik?year={year}")
    assert response.status_code == 422
    assert "Kies een jaar van 2000 tot en met 2100." in response.get_data(as_text=True)
    assert written(db) == before


def test_the_page_shows_this_year_by_default(client, db, app):
    from dataclasses import replace
    from datetime import date

    app.extensions["pasdienst.settings"] = replace(app.extensions["pasdienst.settings"], today=date(2031, 5, 1))
    login_as(client, "admin")
    html = client.get("/admin/gebruik").get_data(as_text=True)
    assert "Gebruik van het kindpakket 2031" in html
    assert '<option value="2031" selected>' in html


def test_the_page_highlights_the_usage_band(client, db, monkeypatch):
    report = UsageReport(
        municipality=CODE, municipality_name="Gemeente Testdorp", year=2027, reference_date=None,
        eligible_children=40, children_with_redemption=26,
        by_category=(CategoryRow("school", 40, 26, 31, 200000, 90000, 0, 110000),),
        by_age_band=(AgeBandRow("0-3", 0, 3, 0, 0), AgeBandRow("4-11", 4, 11, 25, 17), AgeBandRow("12-17", 12, 17, 15, 9)),
        by_month=tuple(MonthRow(f"2027-{m:02d}", m, 100 * m, 5) for m in range(1, 13)),
        by_merchant=(),
        money=Money(200000, 90000, 0, 110000),
    )
    monkeypatch.setattr("pasdienst.reports.views.usage_report", lambda *_a, **_k: report)
    login_as(client, "admin")
    html = client.get("/admin/gebruik?year=2027").get_data(as_text=True)
    current = re.findall(r'<li class="current" aria-current="true">([^<]*)', html)
    assert current == ["50 tot 75 % "]  # 26 of 40 = 65 %
    assert "<dd>65,0 %</dd>" in html
    assert "68,0 %" in html and "60,0 %" in html  # 17/25 and 9/15: shown, both columns at least five

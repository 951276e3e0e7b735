"""The budget page (top-ups, burn-down, threshold warning) and the dashboard; finance stays with admins."""
from __future__ import annotations

import pytest

from pasdienst.municipalities.services import budget_figures
from tests.factories import login_as, make_merchant

from .conftest import audit_count, flashes, last_event, post
from tests.text import spaced


def _fund(db) -> int:
    with db.read() as s:
        return budget_figures(s, "testdorp").available


@pytest.mark.money
def test_a_top_up_through_the_page_moves_money_once_and_is_audited(client, db):
    login_as(client, "admin")
    page = client.get("/admin/budget").get_data(as_text=True)
    key = page.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    data = {"amount": "2500,50", "reference": "raadsbesluit 2027-04", "form_key": key}
    first = post(client, "/admin/budget/ophogen", data, token_from="/admin/budget")
    again = post(client, "/admin/budget/ophogen", data, token_from="/admin/budget")  # a double click
    assert first.status_code == again.status_code == 302
    assert _fund(db) == 250050
    assert audit_count(db, "budget.topup") == 1
    event = last_event(db, "budget.topup")
    assert event.after == {"amount_cents": 250050, "reference": "raadsbesluit 2027-04"}
    page = spaced(client.get("/admin/budget").get_data(as_text=True))
    assert "€ 2.500,50" in page and "raadsbesluit 2027-04" in page


@pytest.mark.money
@pytest.mark.parametrize("amount, reference, message", [
    ("1.000,00", "besluit", "geen bedrag"),
    ("-5", "besluit", "geen bedrag"),
    ("0", "besluit", "geen bedrag"),
    ("12,345", "besluit", "geen bedrag"),
    ("100", " ", "kenmerk"),
    ("١٥٠", "besluit", "andere cijfers dan 0 tot en met 9"),  # Arabic-Indic: int() reads 150
    ("２５００,００", "besluit", "andere cijfers dan 0 tot en met 9"),  # fullwidth
])
def test_a_bad_top_up_is_refused_and_moves_nothing(client, db, amount, reference, message):
    login_as(client, "admin")
    response = post(client, "/admin/budget/ophogen", {"amount": amount, "reference": reference}, token_from="/admin/budget")
    assert response.status_code == 302
    assert message in flashes(client)[0].lower()
    assert _fund(db) == 0 and audit_count(db, "budget.topup") == 0


def test_a_threshold_in_other_digits_is_refused_and_changes_nothing(client, db):
    login_as(client, "admin")
    post(client, "/admin/budget/grens", {"threshold": "١٠٠٠"}, token_from="/admin/budget")
    assert "andere cijfers dan 0 tot en met 9" in flashes(client)[0]
    assert audit_count(db, "municipality.budget_threshold") == 0


def test_the_budget_warns_under_the_threshold_on_the_page_and_the_dashboard(client, db):
    login_as(client, "admin")
    assert "Let op" not in client.get("/admin/budget").get_data(as_text=True)
    response = post(client, "/admin/budget/grens", {"threshold": "1000,00"}, token_from="/admin/budget")
    assert response.status_code == 302
    event = last_event(db, "municipality.budget_threshold")
    assert event.before == {"low_budget_threshold_cents": 0} and event.after == {"low_budget_threshold_cents": 100000}
    for path in ("/admin/budget", "/admin"):
        page = spaced(client.get(path).get_data(as_text=True))
        assert "Let op: er is nog € 0,00 vrij in het fonds, minder dan de grens van € 1.000,00" in page, path


def test_a_bad_threshold_is_refused_and_changes_nothing(client, db):
    login_as(client, "admin")
    post(client, "/admin/budget/grens", {"threshold": "veel"}, token_from="/admin/budget")
    assert "geen bedrag" in flashes(client)[0]
    assert audit_count(db, "municipality.budget_threshold") == 0


def test_a_caseworker_sees_nothing_of_finance(app, client, db):
    login_as(client, "caseworker")
    for path in ("/admin/budget", "/admin/gebruik", "/admin/aanbieders", "/admin/auditlog", "/admin/gebruikers"):
        assert client.get(path).status_code == 403, path
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/finance") and "GET" in (rule.methods or ()) and not rule.arguments:
            assert client.get(rule.rule).status_code == 403, rule.rule
    assert client.get("/api/v1/municipalities/testdorp/usage?year=2027").status_code == 403
    page = client.get("/admin").get_data(as_text=True)
    assert "fonds" not in page and "Budget" not in page and "Auditlog" not in page


def test_the_dashboard_shows_the_key_figures(client, db, world):
    make_merchant(db, name="Nieuwe Winkel", status="pending")
    login_as(client, "admin")
    page = client.get("/admin").get_data(as_text=True)
    assert "Kindpakket Gemeente Testdorp" in page
    assert '<span class="figure">2</span> <span class="figure-label">kinderen geregistreerd' in page
    assert '<span class="figure">2</span> <span class="figure-label">kinderen met een pas voor 2027' in page
    assert '<span class="figure">1</span> <span class="figure-label"><a href="/admin/aanbieders">aanbieders wachten' in page
    assert "Laatste handelingen" in page and "<td>Aanbieder toegevoegd</td>" in page and "merchant.create" not in page
    for link in ("/admin/kinderen", "/admin/regeling", "/admin/budget", "/admin/aanbieders", "/admin/gebruikers",
                 "/admin/auditlog", "/admin/gebruik"):
        assert f'href="{link}"' in page, link
    assert 'href="/finance"' not in page  # finance users only


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/admin")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")

"""The maatwerk pages: an admin sets up teams and funds, a case worker and a fund's user award, in Dutch."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from pasdienst.maatwerk.models import Award, Team
from pasdienst.web.app import create_app
from tests.factories import login_as, make_user


@pytest.fixture
def app(maat, world_settings, db):
    application = create_app(world_settings, db=db)
    application.config.update(TESTING=True)
    return application


def _token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no form on {path}"
    return match.group(1)


def _post(client, path: str, data: dict, *, page: str) -> str:
    response = client.post(path, data={"csrf_token": _token(client, page), **data}, follow_redirects=True)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_the_admin_sees_each_team_and_fund_with_its_figures(app, maat):
    maat.team_award("225,00")
    maat.fund_award("90,00")
    client = app.test_client()
    login_as(client, maat.world.admin)
    page = client.get("/admin/maatwerk").get_data(as_text=True)
    assert "Gebiedsteam Noord" in page and "Jeugdfonds Sport &amp; Cultuur" in page
    assert "€\xa0225,00" in page and "€\xa090,00" in page
    assert "consulent@testdorp.example" in page


def test_an_admin_makes_a_team_and_sets_its_budget_through_the_page(app, maat, db):
    client = app.test_client()
    login_as(client, maat.world.admin)
    page = _post(client, "/admin/maatwerk/teams", {"name": "Gebiedsteam Zuid"}, page="/admin/maatwerk")
    assert "Team Gebiedsteam Zuid is gemaakt." in page
    with db.read() as s:
        team_id = s.execute(select(Team.id).where(Team.name == "Gebiedsteam Zuid")).scalar_one()
    page = _post(client, f"/admin/maatwerk/teams/{team_id}/budget?year=2027", {"budget": "2500"}, page="/admin/maatwerk")
    assert "Het budget voor 2027 is €\xa02.500,00." in page
    page = _post(client, f"/admin/maatwerk/teams/{team_id}/budget?year=2027", {"budget": "veel"}, page="/admin/maatwerk")
    assert "Typ het jaarbudget in euro's" in page


def test_a_caseworker_awards_through_the_form_and_reads_a_refusal_in_dutch(app, maat, world, db):
    client = app.test_client()
    login_as(client, maat.caseworker)
    page = client.get("/admin/maatwerk").get_data(as_text=True)
    assert "Team Gebiedsteam Noord, 2027: €\xa01.000,00 over van €\xa01.000,00." in page
    form = {"child_ref": "T-1", "category": "sport_culture", "merchant_id": str(world.merchants["sport"]),
            "amount": "225", "reason": "membership", "note": "contributie voetbalclub", "key": "k-1"}
    page = _post(client, "/admin/maatwerk/toekennen", form, page="/admin/maatwerk")
    assert "€\xa0225,00 voor sport en cultuur bij Sportclub De Sprint toegekend aan Sanne (T-1)" in page
    page = _post(client, "/admin/maatwerk/toekennen", {**form, "amount": "800", "key": "k-2"}, page="/admin/maatwerk")
    assert "Team Gebiedsteam Noord heeft voor 2027 nog €\xa0775,00 over, niet €\xa0800,00. Er is niets toegekend." in page
    with db.read() as s:
        award_id = s.execute(select(Award.id)).scalar_one()
    page = _post(client, f"/admin/maatwerk/toekenningen/{award_id}/intrekken", {}, page="/admin/maatwerk")
    assert "Kies waarom u deze toekenning intrekt. Er is niets ingetrokken." in page
    page = _post(client, f"/admin/maatwerk/toekenningen/{award_id}/intrekken", {"reason": "other"}, page="/admin/maatwerk")
    assert "Schrijf bij 'Overig' in een paar woorden waarom u de toekenning intrekt." in page
    page = _post(client, f"/admin/maatwerk/toekenningen/{award_id}/intrekken",
                 {"reason": "moved", "note": "verhuisd naar Anderdorp"}, page="/admin/maatwerk")
    assert "is ingetrokken; €\xa0225,00 die nog niet was besteed, ging terug." in page
    assert "<dt>Reden intrekken</dt><dd>Kind verhuisd: verhuisd naar Anderdorp</dd>" in page


def test_the_audit_log_says_why_an_award_was_withdrawn(app, maat):
    done = maat.team_award("40,00")
    maat.withdraw(done.award.id, maat.caseworker, reason="duplicate")
    client = app.test_client()
    login_as(client, maat.world.admin)
    log = html.unescape(client.get("/admin/auditlog").get_data(as_text=True))
    assert "<dt>reden intrekken</dt><dd>dubbel toegekend</dd>" in log


def test_a_fund_user_lands_on_the_funds_page_and_awards_from_it(app, maat, world):
    client = app.test_client()
    login_as(client, maat.fund_user)
    page = client.get("/fonds").get_data(as_text=True)
    assert "Jeugdfonds Sport &amp; Cultuur" in page and "€\xa0500,00" in page
    form = {"child_ref": "T-1", "category": "sport_culture", "merchant_id": "", "amount": "90,00",
            "reason": "equipment", "note": "", "key": "f-1"}
    page = _post(client, "/fonds/toekennen", form, page="/fonds")
    assert "€\xa090,00 voor sport en cultuur toegekend aan Sanne (T-1)" in page
    assert client.get("/admin/maatwerk").status_code == 403


def test_a_fund_user_without_a_fund_is_told_so(app, maat):
    client = app.test_client()
    login_as(client, make_user(maat.db, "fund", email="los@testdorp.example"))
    response = client.get("/fonds")
    assert response.status_code == 404
    assert "Uw account hoort nog bij geen fonds" in response.get_data(as_text=True)

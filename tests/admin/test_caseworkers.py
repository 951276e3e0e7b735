"""Case workers: a discretionary award with a reason, a pass within the yearly cap, all visible to admins."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pasdienst.admin.models import CaseworkerAward
from pasdienst.ledger import verify
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet.models import Child, ChildPass
from tests.factories import OTHER_MUNICIPALITY, SCHEME, login_as, make_municipality, make_user
from tests.text import visible_text

from .conftest import audit_count, last_event, post

pytestmark = pytest.mark.money

VISIT = {
    "child_ref": "GT-77", "first_name": "Mila", "birth_date": "2016-06-01",
    "override_reason": "keukentafelgesprek gebiedsteam 12 maart, schulden",
}
#: What a 10-year-old gets under tests/redeem/conftest.py's scheme: 150 + 50 + 10 × 4.50 + 75.
FULL = 15000 + 5000 + 4500 + 7500


def _counts(db) -> tuple[int, int, int, int]:
    with db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Child)).scalar_one(),
            s.execute(select(func.count()).select_from(ChildPass)).scalar_one(),
            s.execute(select(func.count()).select_from(CaseworkerAward)).scalar_one(),
            budget_figures(s, "testdorp").available,
        )


def _set_cap(app, db, value: str) -> None:
    admin = app.test_client()
    login_as(admin, "admin")
    assert post(admin, "/admin/consulenten/limiet?year=2027", {"max_passes": value}, token_from="/admin/consulenten").status_code == 302


def test_without_a_cap_a_caseworker_cannot_award(client, db, world):
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 409 and "geen jaarlimiet" in response.get_data(as_text=True)
    assert _counts(db) == before and audit_count(db, "child.register") == 0


def test_a_caseworker_registers_a_child_and_issues_its_pass(app, client, db, world):
    _set_cap(app, db, "2")
    worker = login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 302, response.get_data(as_text=True)
    children, passes, awards, fund = _counts(db)
    assert (children, passes, awards) == (before[0] + 1, before[1] + 1, 1) and fund == before[3] - FULL
    with db.read() as s:
        child = s.execute(select(Child).where(Child.child_ref == "GT-77")).scalar_one()
        new_pass = s.execute(select(ChildPass).where(ChildPass.child_id == child.id)).scalar_one()
        assert verify(s).ok
    assert response.headers["Location"] == f"/admin/kinderen/{child.id}"
    assert new_pass.award_basis == "override" and new_pass.status == "active"
    assert child.override_reason == VISIT["override_reason"]
    registered = last_event(db, "child.register")
    issued = last_event(db, "pass.issue")
    assert registered.actor_email == issued.actor_email == worker.email
    assert registered.after["override_reason"] == VISIT["override_reason"] and "birth_date" not in registered.after
    assert issued.after["total_cents"] == FULL
    assert issued.entity_id == new_pass.pass_number  # the pass number, never the row id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert new_pass.pass_number in page and "Brief met deze pas afdrukken" in page and worker.email in page


def test_the_cap_is_per_caseworker_and_year(app, client, db, world):
    _set_cap(app, db, "1")
    login_as(client, "caseworker")
    assert post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden").status_code == 302
    before = _counts(db)
    second = {**VISIT, "child_ref": "GT-78", "first_name": "Jesse"}
    refused = post(client, "/admin/kinderen/aanmelden", second, token_from="/admin/kinderen/aanmelden")
    assert refused.status_code == 409 and "jaarlimiet van 1" in refused.get_data(as_text=True)
    assert _counts(db) == before
    colleague = app.test_client()
    login_as(colleague, "caseworker")
    assert post(colleague, "/admin/kinderen/aanmelden", second, token_from="/admin/kinderen/aanmelden").status_code == 302


def test_an_existing_child_keeps_its_imported_data_and_gets_the_reason(app, client, db, world):
    _set_cap(app, db, "5")
    with db.read() as s:
        sanne = s.execute(select(Child).where(Child.child_ref == "T-1")).scalar_one()
    login_as(client, "caseworker")
    refused = post(client, "/admin/kinderen/aanmelden", {**VISIT, "child_ref": "T-1"}, token_from="/admin/kinderen/aanmelden")
    assert refused.status_code == 409 and "heeft al een pas voor 2027" in refused.get_data(as_text=True)
    with db.read() as s:
        after = s.get(Child, sanne.id)
    assert after.override_reason is None and after.bsn_hash == sanne.bsn_hash


@pytest.mark.parametrize("changes, message", [
    ({"override_reason": " "}, "Geef de reden"),
    ({"birth_date": "31-02-2016"}, "Deze gegevens kloppen niet: geboortedatum (birth_date) &#39;31-02-2016&#39; bestaat niet."),
    ({"first_name": ""}, "Vul het klantnummer"),
    ({"birth_date": "1990-01-01"}, "krijgt een kind van deze leeftijd niets"),
    ({"postcode": "12"}, "postcode"),
])
def test_a_bad_registration_is_refused_and_writes_nothing(app, client, db, world, changes, message):
    _set_cap(app, db, "5")
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", {**VISIT, **changes}, token_from="/admin/kinderen/aanmelden")
    page = response.get_data(as_text=True)
    assert response.status_code in (409, 422) and message in page
    assert 'value="GT-77"' in page  # the form keeps what was typed
    assert _counts(db) == before and audit_count(db, "child.register") == 0


def test_an_award_the_fund_cannot_cover_writes_nothing(app, client, db):
    make_municipality(db)
    from pasdienst.wallet.services import load_scheme
    with db.transaction() as s:
        load_scheme(s, SCHEME)
    _set_cap(app, db, "5")
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 409 and "te weinig" in response.get_data(as_text=True)
    assert _counts(db) == before


def test_admins_see_every_award_and_caseworkers_their_own(app, client, db, world):
    _set_cap(app, db, "3")
    first = login_as(client, "caseworker")
    post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    other = app.test_client()
    login_as(other, "caseworker")
    post(other, "/admin/kinderen/aanmelden", {**VISIT, "child_ref": "GT-78", "first_name": "Jesse"}, token_from="/admin/kinderen/aanmelden")
    own = client.get("/admin/consulenten").get_data(as_text=True)
    assert "Mila" in own and "Jesse" not in visible_text(own) and "U hebt er 1 gebruikt" in own
    admin = app.test_client()
    login_as(admin, "admin")
    everything = admin.get("/admin/consulenten").get_data(as_text=True)
    assert "Mila" in everything and "Jesse" in everything and f"{first.email}: 1 van 3" in everything
    log = admin.get("/admin/auditlog?action=child.").get_data(as_text=True)
    assert log.count("<td>Kind aangemeld door consulent</td>") == 2


def test_a_caseworker_cannot_set_the_cap(client, db, world):
    login_as(client, "caseworker")
    assert post(client, "/admin/consulenten/limiet", {"max_passes": "99"}, token_from="/admin/consulenten").status_code == 403
    assert audit_count(db, "caseworker_cap.set") == 0


def test_a_bad_cap_is_refused(app, client, db):
    make_user(db, "admin")
    login_as(client, "admin")
    for value in ("-1", "veel", ""):
        post(client, "/admin/consulenten/limiet", {"max_passes": value}, token_from="/admin/consulenten")
    assert audit_count(db, "caseworker_cap.set") == 0


# -- next year, and passes valid for only a few weeks -------------------------------------

def _load_scheme(db, year: int) -> None:
    from pasdienst.wallet.sample import sample_scheme
    from pasdienst.wallet.services import load_scheme

    with db.transaction() as s:
        load_scheme(s, sample_scheme("testdorp", year))


def _set_cap_for(app, year: int, value: str) -> None:
    admin = app.test_client()
    login_as(admin, "admin")
    response = post(admin, f"/admin/consulenten/limiet?year={year}", {"max_passes": value}, token_from="/admin/consulenten")
    assert response.status_code == 302


def test_next_year_is_offered_once_its_scheme_is_loaded(app, client, db, world):
    _set_cap(app, db, "2")
    login_as(client, "caseworker")
    page = client.get("/admin/kinderen/aanmelden").get_data(as_text=True)
    assert 'id="year-2027"' in page and 'id="year-2028"' not in page
    refused = post(client, "/admin/kinderen/aanmelden", {**VISIT, "year": "2028"}, token_from="/admin/kinderen/aanmelden")
    assert refused.status_code == 404 and "geen regeling voor 2028" in refused.get_data(as_text=True)

    _load_scheme(db, 2028)
    _set_cap_for(app, 2028, "1")
    page = client.get("/admin/kinderen/aanmelden").get_data(as_text=True)
    assert 'id="year-2027"' in page and 'id="year-2028"' in page and "0 van de 1 toekenningen gebruikt" in page
    done = post(client, "/admin/kinderen/aanmelden", {**VISIT, "year": "2028"}, token_from="/admin/kinderen/aanmelden")
    assert done.status_code == 302, done.get_data(as_text=True)
    with db.read() as s:
        child = s.execute(select(Child).where(Child.child_ref == "GT-77")).scalar_one()
        made = s.execute(select(ChildPass).where(ChildPass.child_id == child.id)).scalar_one()
        award = s.execute(select(CaseworkerAward).where(CaseworkerAward.child_id == child.id)).scalar_one()
    assert (made.year, str(made.valid_from), award.year) == (2028, "2028-01-01", 2028)
    # The cap of 2028 is used, that of 2027 is not.
    second = {**VISIT, "child_ref": "GT-78", "first_name": "Jesse"}
    assert post(client, "/admin/kinderen/aanmelden", {**second, "year": "2028"}, token_from="/admin/kinderen/aanmelden").status_code == 409
    assert post(client, "/admin/kinderen/aanmelden", {**second, "year": "2027"}, token_from="/admin/kinderen/aanmelden").status_code == 302


@pytest.mark.parametrize("year", ["2026", "2029", "١٢", "volgend jaar"])
def test_only_this_year_or_next_can_be_awarded(app, client, db, world, year):
    _load_scheme(db, 2028)
    _set_cap(app, db, "2")
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", {**VISIT, "year": year}, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 422 and _counts(db) == before
    assert "2027 of 2028" in response.get_data(as_text=True) or "Kies het jaar" in response.get_data(as_text=True)


@pytest.fixture
def december(admin_settings, db):
    """The app on 1 December 2027: a pass for 2027 is valid for 30 more days."""
    from dataclasses import replace
    from datetime import date

    from pasdienst.web.app import create_app

    application = create_app(replace(admin_settings, today=date(2027, 12, 1)), db=db)
    application.config.update(TESTING=True)
    return application


def test_a_pass_valid_for_only_a_few_weeks_needs_the_caseworkers_tick(december, db, world):
    _set_cap(december, db, "2")
    client = december.test_client()
    login_as(client, "caseworker")
    page = client.get("/admin/kinderen/aanmelden").get_data(as_text=True)
    assert "nog maar 30 dagen" in page and 'name="accept_short"' in page
    before = _counts(db)
    refused = post(client, "/admin/kinderen/aanmelden", {**VISIT, "year": "2027"}, token_from="/admin/kinderen/aanmelden")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "nog maar 30 dagen geldig (tot en met 31-12-2027)" in text
    assert 'value="GT-77"' in text and _counts(db) == before and audit_count(db, "pass.issue") == 0
    done = post(client, "/admin/kinderen/aanmelden", {**VISIT, "year": "2027", "accept_short": "1"},
                token_from="/admin/kinderen/aanmelden")
    assert done.status_code == 302, done.get_data(as_text=True)


def test_in_december_next_years_pass_is_the_one_chosen_and_needs_no_tick(december, db, world):
    _load_scheme(db, 2028)
    _set_cap_for(december, 2028, "1")
    client = december.test_client()
    login_as(client, "caseworker")
    page = client.get("/admin/kinderen/aanmelden").get_data(as_text=True)
    assert 'id="year-2028" name="year" type="radio" value="2028" required checked' in page
    assert "Kies liever 2028" in page
    assert post(client, "/admin/kinderen/aanmelden", {**VISIT, "year": "2028"}, token_from="/admin/kinderen/aanmelden").status_code == 302


# -- from the child's page ----------------------------------------------------------------

def _child(db, ref: str) -> Child:
    with db.read() as s:
        return s.execute(select(Child).where(Child.child_ref == ref)).scalar_one()


def test_a_child_with_this_years_pass_gets_next_years_from_its_page(app, client, db, world):
    daan = _child(db, "T-2")
    login_as(client, "caseworker")
    assert 'action="/admin/kinderen/%d/toekennen"' % daan.id not in client.get(f"/admin/kinderen/{daan.id}").get_data(as_text=True)
    _load_scheme(db, 2028)
    _set_cap_for(app, 2028, "1")
    page = client.get(f"/admin/kinderen/{daan.id}").get_data(as_text=True)
    assert f'action="/admin/kinderen/{daan.id}/toekennen"' in page and 'id="year-2028"' in page and 'id="year-2027"' not in page
    done = post(client, f"/admin/kinderen/{daan.id}/toekennen", {"override_reason": "huisbezoek", "year": "2028"},
                token_from=f"/admin/kinderen/{daan.id}")
    assert done.status_code == 302 and done.headers["Location"] == f"/admin/kinderen/{daan.id}"
    with db.read() as s:
        years = sorted(s.execute(select(ChildPass.year).where(ChildPass.child_id == daan.id)).scalars())
        child = s.get(Child, daan.id)
    assert years == [2027, 2028] and child.override_reason == "huisbezoek" and child.bsn_hash == daan.bsn_hash
    assert last_event(db, "child.register").before == {"child_ref": "T-2", "first_name": "Daan", "override_reason": None}
    after = client.get(f"/admin/kinderen/{daan.id}").get_data(as_text=True)
    assert "Pas toekennen" not in after  # nothing left to award


def test_an_award_from_the_childs_page_is_refused_as_on_the_form(app, client, db, world):
    daan = _child(db, "T-2")
    _load_scheme(db, 2028)
    login_as(client, "caseworker")
    before = _counts(db)
    page = f"/admin/kinderen/{daan.id}"
    no_cap = post(client, f"{page}/toekennen", {"override_reason": "huisbezoek", "year": "2028"}, token_from=page)
    assert no_cap.status_code == 409 and "geen jaarlimiet" in no_cap.get_data(as_text=True)
    _set_cap_for(app, 2028, "1")
    no_reason = post(client, f"{page}/toekennen", {"override_reason": " ", "year": "2028"}, token_from=page)
    assert no_reason.status_code == 422 and "Geef de reden" in no_reason.get_data(as_text=True)
    twice = post(client, f"{page}/toekennen", {"override_reason": "huisbezoek", "year": "2027"}, token_from=page)
    assert twice.status_code == 409 and "heeft al een pas voor 2027" in twice.get_data(as_text=True)
    assert _counts(db) == before
    other = app.test_client()
    login_as(other, "caseworker", municipality=OTHER_MUNICIPALITY)
    assert post(other, f"{page}/toekennen", {"override_reason": "huisbezoek", "year": "2028"}).status_code == 404


def test_the_childs_history_names_the_registration_and_the_award_basis_as_the_audit_log_does(app, client, db, world):
    _set_cap(app, db, "1")
    caseworker = login_as(client, "caseworker")
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 302
    history = visible_text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Kind aangemeld door consulent" in history and caseworker.email in history
    assert "uitgegeven (besluit consulent)" in history

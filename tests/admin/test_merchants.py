"""Merchants from /admin: add, approve, suspend, a login, and the four-eyes change of IBAN."""
from __future__ import annotations

from sqlalchemy import func, select

from pasdienst.foureyes.models import FourEyesRequest
from pasdienst.merchants.models import IbanChangeRequest
from pasdienst.merchants.models import Merchant
from tests.factories import OTHER_MUNICIPALITY, login_as, make_merchant, make_user

from .conftest import audit_count, flashes, last_event, post

NEW_IBAN = "NL44RABO0123456789"


def _merchant(db, merchant_id: int) -> Merchant:
    with db.read() as s:
        return s.get(Merchant, merchant_id)


def _changes(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(IbanChangeRequest)).scalar_one()


def test_an_admin_adds_a_merchant_that_waits_for_a_second_admin(client, db):
    login_as(client, "admin")
    response = post(client, "/admin/aanbieders", {
        "name": "Fietsenmaker Van Dam", "categories": ["transport", "other"], "iban": "NL91 ABNA 0417 1643 00",
        "kvk_number": "12345678", "contact_email": "info@vandam.example",
    }, token_from="/admin/aanbieders")
    assert response.status_code == 302 and "andere beheerder" in flashes(client)[0]
    with db.read() as s:
        merchant = s.execute(select(Merchant).where(Merchant.name == "Fietsenmaker Van Dam")).scalar_one()
    assert merchant.status == "pending" and merchant.iban == "NL91ABNA0417164300" and merchant.categories == "transport,other"
    assert last_event(db, "merchant.create").actor_email.startswith("admin")
    assert last_event(db, "merchant.approve_request").after["merchant_id"] == merchant.id


def test_a_merchant_with_a_bad_iban_is_refused_in_dutch_keeping_the_form(client, db):
    login_as(client, "admin")
    response = post(client, "/admin/aanbieders", {
        "name": "Typo BV", "categories": ["school"], "iban": "NL91ABNA0417164301",
    }, token_from="/admin/aanbieders")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "De controlecijfers van dit IBAN kloppen niet" in page
    assert 'value="Typo BV"' in page and 'value="school" checked' in page
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Merchant)).scalar_one() == 0


def test_a_pending_merchant_is_approved_by_two_admins_then_suspended_by_one(client, db, app):
    merchant_id = make_merchant(db, name="Aangemeld", status="pending")
    login_as(client, "admin")
    assert "aangemeld" in client.get("/admin/aanbieders").get_data(as_text=True)
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "approved"}, token_from="/admin/aanbieders")
    assert _merchant(db, merchant_id).status == "pending" and "aangevraagd" in flashes(client)[0]
    second = app.test_client()
    login_as(second, "admin")
    with db.read() as s:
        request_id = s.execute(select(FourEyesRequest.id)).scalar_one()
    post(second, f"/admin/verzoeken/{request_id}/bevestigen", {"checked": "1"}, token_from="/admin/verzoeken")
    assert _merchant(db, merchant_id).status == "approved"
    event = last_event(db, "merchant.status")
    assert event.before["status"] == "pending" and event.after["status"] == "approved"
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "suspended"}, token_from="/admin/aanbieders")
    assert _merchant(db, merchant_id).status == "suspended"
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "pending"}, token_from="/admin/aanbieders")
    assert "goedgekeurd of geschorst" in flashes(client)[0] and _merchant(db, merchant_id).status == "suspended"


def test_an_iban_change_waits_for_a_second_admin(client, db, app):
    merchant_id = make_merchant(db, name="Boekhandel")
    first = make_user(db, "admin")
    second = make_user(db, "admin")
    login_as(client, first)
    post(client, f"/admin/aanbieders/{merchant_id}/iban", {"iban": NEW_IBAN}, token_from="/admin/aanbieders")
    assert _merchant(db, merchant_id).iban == "NL91ABNA0417164300"  # unchanged until confirmed
    with db.read() as s:
        change = s.execute(select(IbanChangeRequest)).scalar_one()
    assert change.status == "pending" and change.iban == NEW_IBAN and change.old_iban == "NL91ABNA0417164300"
    page = client.get("/admin/aanbieders").get_data(as_text=True)
    assert "Een andere beheerder moet deze wijziging bevestigen" in page and "Nieuw IBAN bevestigen" not in page

    refused = post(client, f"/admin/iban-wijzigingen/{change.id}/bevestigen", token_from="/admin/aanbieders")
    assert refused.status_code == 403
    assert _merchant(db, merchant_id).iban == "NL91ABNA0417164300"
    assert audit_count(db, "merchant.iban_change_confirm") == 0

    other = app.test_client()
    login_as(other, second)
    assert "Nieuw IBAN bevestigen" in other.get("/admin/aanbieders").get_data(as_text=True)
    done = post(other, f"/admin/iban-wijzigingen/{change.id}/bevestigen", token_from="/admin/aanbieders")
    assert done.status_code == 302
    merchant = _merchant(db, merchant_id)
    assert merchant.iban == NEW_IBAN and merchant.bic == "RABONL2U"
    event = last_event(db, "merchant.iban_change_confirm")
    assert event.before["iban"] == "NL91ABNA0417164300" and event.after["iban"] == NEW_IBAN
    assert event.actor_email == second.email
    again = post(other, f"/admin/iban-wijzigingen/{change.id}/bevestigen", token_from="/admin/aanbieders")
    assert again.status_code == 302 and "al afgehandeld" in flashes(other)[0]


def test_an_invalid_iban_is_refused_and_nothing_is_requested(client, db):
    merchant_id = make_merchant(db, name="Boekhandel")
    login_as(client, "admin")
    for iban, message in (("NL44RABO0123456780", "controlecijfers"), ("US12345678901234567890", ""), ("", "Vul een IBAN in")):
        post(client, f"/admin/aanbieders/{merchant_id}/iban", {"iban": iban}, token_from="/admin/aanbieders")
        assert message in flashes(client)[0]
    assert _changes(db) == 0 and audit_count(db, "merchant.iban_change_request") == 0
    assert _merchant(db, merchant_id).iban == "NL91ABNA0417164300"


def test_a_new_request_replaces_a_pending_one_and_a_withdrawn_one_changes_nothing(client, db):
    merchant_id = make_merchant(db, name="Boekhandel")
    login_as(client, "admin")
    post(client, f"/admin/aanbieders/{merchant_id}/iban", {"iban": NEW_IBAN}, token_from="/admin/aanbieders")
    post(client, f"/admin/aanbieders/{merchant_id}/iban", {"iban": "NL69INGB0123456789"}, token_from="/admin/aanbieders")
    with db.read() as s:
        states = s.execute(select(IbanChangeRequest.iban, IbanChangeRequest.status).order_by(IbanChangeRequest.id)).all()
    assert states == [(NEW_IBAN, "cancelled"), ("NL69INGB0123456789", "pending")]
    with db.read() as s:
        pending = s.execute(select(IbanChangeRequest.id).where(IbanChangeRequest.status == "pending")).scalar_one()
    post(client, f"/admin/iban-wijzigingen/{pending}/intrekken", token_from="/admin/aanbieders")
    assert _merchant(db, merchant_id).iban == "NL91ABNA0417164300"
    assert audit_count(db, "merchant.iban_change_cancel") == 2


def test_a_login_is_made_only_for_an_approved_merchant_and_its_password_shown_once(client, db):
    pending = make_merchant(db, name="Wacht", status="pending")
    approved = make_merchant(db, name="Goed")
    login_as(client, "admin")
    post(client, f"/admin/aanbieders/{pending}/inlog", {"email": "kassa@wacht.example"}, token_from="/admin/aanbieders")
    assert "Keur de aanbieder eerst goed" in flashes(client)[0]
    response = post(client, f"/admin/aanbieders/{approved}/inlog", {"email": "kassa@goed.example"}, token_from="/admin/aanbieders")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "kassa@goed.example" in page and "Eenmalig wachtwoord" in page
    assert response.headers["Cache-Control"] == "no-store"
    event = last_event(db, "user.create")
    assert event.after["merchant_id"] == approved and "password" not in str(event.after)


def test_an_admin_of_another_municipality_gets_not_found(client, db):
    merchant_id = make_merchant(db, name="Boekhandel")
    login_as(client, make_user(db, "admin"))
    post(client, f"/admin/aanbieders/{merchant_id}/iban", {"iban": NEW_IBAN}, token_from="/admin/aanbieders")
    with db.read() as s:
        change_id = s.execute(select(IbanChangeRequest.id)).scalar_one()
    login_as(client, "admin", municipality=OTHER_MUNICIPALITY)
    for path, data in (
        (f"/admin/aanbieders/{merchant_id}/status", {"status": "suspended"}),
        (f"/admin/aanbieders/{merchant_id}/iban", {"iban": NEW_IBAN}),
        (f"/admin/aanbieders/{merchant_id}/inlog", {"email": "x@y.example"}),
        (f"/admin/iban-wijzigingen/{change_id}/bevestigen", {}),
        (f"/admin/iban-wijzigingen/{change_id}/intrekken", {}),
    ):
        assert post(client, path, data, token_from="/admin/aanbieders").status_code == 404, path
    assert "Boekhandel" not in client.get("/admin/aanbieders").get_data(as_text=True)
    merchant = _merchant(db, merchant_id)
    assert merchant.status == "approved" and merchant.iban == "NL91ABNA0417164300"


def test_an_admin_sets_what_families_read_about_a_merchant_on_the_pass(client, db):
    merchant_id = make_merchant(db, name="Zwembad De Golf", categories=("sport_culture",))
    login_as(client, "admin")
    response = post(client, f"/admin/aanbieders/{merchant_id}/vermelding", {
        "place": " Beetsterzwaag ", "offer": "Zwemles  en vrij zwemmen", "website": "www.degolf.example/jeugd",
    }, token_from="/admin/aanbieders")
    assert response.status_code == 302 and "opgeslagen" in flashes(client)[0]
    merchant = _merchant(db, merchant_id)
    assert (merchant.place, merchant.offer, merchant.website) == (
        "Beetsterzwaag", "Zwemles en vrij zwemmen", "https://www.degolf.example/jeugd",
    )
    event = last_event(db, "merchant.listing")
    assert event.before == {"place": None, "offer": None, "website": None}
    assert event.after["website"] == "https://www.degolf.example/jeugd"
    page = client.get("/admin/aanbieders").get_data(as_text=True)
    assert "Beetsterzwaag · Zwemles en vrij zwemmen · https://www.degolf.example/jeugd" in page
    # Saving it unchanged records nothing; emptying a field clears it.
    post(client, f"/admin/aanbieders/{merchant_id}/vermelding", {
        "place": "Beetsterzwaag", "offer": "Zwemles en vrij zwemmen", "website": "https://www.degolf.example/jeugd",
    }, token_from="/admin/aanbieders")
    assert audit_count(db, "merchant.listing") == 1
    post(client, f"/admin/aanbieders/{merchant_id}/vermelding", {"place": "Beetsterzwaag", "offer": "", "website": ""},
         token_from="/admin/aanbieders")
    assert (_merchant(db, merchant_id).offer, _merchant(db, merchant_id).website) == (None, None)


def test_a_link_that_is_no_web_address_is_refused_in_dutch_keeping_the_form(client, db):
    merchant_id = make_merchant(db, name="Zwembad De Golf", categories=("sport_culture",))
    login_as(client, "admin")
    for website in ("javascript:alert(1)", "ftp://degolf.example", "de golf", "https://localhost"):
        response = post(client, f"/admin/aanbieders/{merchant_id}/vermelding", {
            "place": "Beetsterzwaag", "offer": "Zwemles", "website": website,
        }, token_from="/admin/aanbieders")
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and "Het webadres" in page, website
        assert 'value="Beetsterzwaag"' in page  # what was typed stays
    assert _merchant(db, merchant_id).place is None and audit_count(db, "merchant.listing") == 0


def test_another_municipalitys_merchant_listing_cannot_be_changed(client, db):
    merchant_id = make_merchant(db, OTHER_MUNICIPALITY, name="Elders")
    login_as(client, "admin")
    response = post(client, f"/admin/aanbieders/{merchant_id}/vermelding", {"place": "X"}, token_from="/admin/aanbieders")
    assert response.status_code in (403, 404)
    assert _merchant(db, merchant_id).place is None

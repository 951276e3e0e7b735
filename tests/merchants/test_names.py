"""A merchant's name is what its payments carry: a name a bank cannot use is
refused on every way in (sign-up, admin page, API, command line, rename), so
no approved batch can later fail to export because of it."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pasdienst.errors import Conflict
from pasdienst.merchants.records import MerchantNameRefused, clean_merchant_name, rename_merchant
from pasdienst.merchants.models import Merchant
from pasdienst.web.dutch import refusal
from tests.factories import OTHER_MUNICIPALITY, api_headers, login_as, make_merchant, make_municipality
from tests.admin.conftest import last_event, post

UNUSABLE = ["🎈🎈🎈", "★★★", "•••", " ... ", "🎈 & ★"]


def test_a_name_with_a_control_character_is_refused_before_the_database_sees_it():
    with pytest.raises(MerchantNameRefused, match="control characters") as refused:
        clean_merchant_name("Winkel\x00 De Ster")
    assert refusal(refused.value) == "De naam bevat tekens die niet in een naam horen."


def _merchants(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Merchant)).scalar_one()


def _name(db, merchant_id: int) -> str:
    with db.read() as s:
        return s.get(Merchant, merchant_id).name


@pytest.mark.parametrize("name", UNUSABLE)
def test_a_name_with_no_letter_or_digit_left_after_sepa_transliteration_is_refused(name):
    with pytest.raises(MerchantNameRefused) as refused:
        clean_merchant_name(name)
    assert refused.value.code == "validation_error" and "no letter or digit a bank can use" in refused.value.message
    assert "geen letters of cijfers die een bank kan gebruiken" in refusal(refused.value)


@pytest.mark.parametrize("name, stored", [
    ("  Fietsen   Van Dam ", "Fietsen Van Dam"),
    ("Ñandú 🎈 Speelgoed", "Ñandú 🎈 Speelgoed"),  # stored as typed; the bank gets "Nandu Speelgoed"
    ("中文书店", "中文书店"),  # transliterates to letters
    ("7", "7"),
])
def test_a_name_with_something_a_bank_can_use_is_kept_as_typed(name, stored):
    assert clean_merchant_name(name) == stored


@pytest.mark.parametrize("name", UNUSABLE[:3])
def test_the_command_line_refuses_it_in_one_line_and_writes_nothing(cli, db, name):
    make_municipality(db)
    result = cli("merchant", "add", "testdorp", "--name", name, "--categories", "school",
                 "--iban", "NL91ABNA0417164300", ok=False)
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "has no letter or digit a bank can use" in result.output
    assert _merchants(db) == 0


def test_the_api_answers_422_validation_error_naming_the_field(client, db):
    make_municipality(db)
    login_as(client, "admin")
    body = {"name": "★★★", "categories": ["school"], "iban": "NL91ABNA0417164300"}
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=body, headers=api_headers(client))
    assert response.status_code == 422 and response.json["code"] == "validation_error"
    assert "name" in response.json["errors"]
    assert _merchants(db) == 0


def test_the_public_signup_refuses_it_in_dutch(client, db):
    from tests.admin.test_signup import _apply

    make_municipality(db)
    response = _apply(client, name="🎈🎈🎈")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "geen letters of cijfers die een bank kan gebruiken" in page
    assert _merchants(db) == 0


def test_the_admin_page_refuses_it_in_dutch_keeping_the_form(client, db):
    login_as(client, "admin")
    response = post(client, "/admin/aanbieders", {
        "name": "•••", "categories": ["school"], "iban": "NL91ABNA0417164300",
    }, token_from="/admin/aanbieders")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "geen letters of cijfers die een bank kan gebruiken" in page
    assert _merchants(db) == 0


def test_an_admin_renames_a_merchant_and_the_audit_log_keeps_both_names(client, db):
    merchant_id = make_merchant(db, name="Winkel 1")
    login_as(client, "admin")
    response = post(client, f"/admin/aanbieders/{merchant_id}/naam", {"name": "  Fietsenmaker   Van Dam "},
                    token_from="/admin/aanbieders")
    assert response.status_code == 302
    assert "De aanbieder heet nu Fietsenmaker Van Dam" in client.get("/admin/aanbieders").get_data(as_text=True)
    assert _name(db, merchant_id) == "Fietsenmaker Van Dam"
    event = last_event(db, "merchant.rename")
    assert event.before["name"] == "Winkel 1" and event.after["name"] == "Fietsenmaker Van Dam"
    assert event.actor_email.startswith("admin")


def test_a_rename_to_an_unusable_or_taken_name_is_refused_in_dutch(client, db):
    merchant_id = make_merchant(db, name="Winkel 1")
    make_merchant(db, name="Winkel 2")
    login_as(client, "admin")
    post(client, f"/admin/aanbieders/{merchant_id}/naam", {"name": "★★★"}, token_from="/admin/aanbieders")
    page = client.get("/admin/aanbieders").get_data(as_text=True)
    assert "geen letters of cijfers die een bank kan gebruiken" in page
    post(client, f"/admin/aanbieders/{merchant_id}/naam", {"name": "Winkel 2"}, token_from="/admin/aanbieders")
    assert "Er is al een aanbieder met de naam &#39;Winkel 2&#39;" in client.get("/admin/aanbieders").get_data(as_text=True)
    assert _name(db, merchant_id) == "Winkel 1"
    assert last_event(db, "merchant.rename") is None


def test_an_admin_cannot_rename_another_municipalitys_merchant(client, db):
    other = make_merchant(db, OTHER_MUNICIPALITY, name="Elders")
    login_as(client, "admin")
    response = post(client, f"/admin/aanbieders/{other}/naam", {"name": "Overgenomen"}, token_from="/admin/aanbieders")
    assert response.status_code == 404 and _name(db, other) == "Elders"


def test_rename_on_the_command_line(cli, db):
    merchant_id = make_merchant(db, name="Winkel 1")
    result = cli("merchant", "rename", str(merchant_id), "--name", "Speelgoed 🎈 De Ster")
    assert result.output.strip() == f"merchant {merchant_id}: Winkel 1 is now Speelgoed 🎈 De Ster"
    assert last_event(db, "merchant.rename").after["name"] == "Speelgoed 🎈 De Ster"
    refused = cli("merchant", "rename", str(merchant_id), "--name", "🎈🎈🎈", ok=False)
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert "has no letter or digit a bank can use" in refused.output
    assert _name(db, merchant_id) == "Speelgoed 🎈 De Ster"


def test_the_rename_service_refuses_a_name_another_merchant_has(db):
    first = make_merchant(db, name="Winkel 1")
    make_merchant(db, name="Winkel 2")
    with pytest.raises(Conflict), db.transaction() as s:
        rename_merchant(s, first, "Winkel 2")
    assert _name(db, first) == "Winkel 1"

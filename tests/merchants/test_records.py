"""Merchants: checked IBANs, their categories, and a ledger payable each."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pasdienst import books, ledger
from pasdienst.banking import InvalidIBAN
from pasdienst.errors import Conflict, NotFound, ValidationFailed
from pasdienst.ledger import Account
from pasdienst.merchants.records import (
    add_merchant,
    get_merchant,
    list_merchants,
    merchant_accepts_category,
    set_merchant_status,
)
from pasdienst.merchants.models import Merchant
from tests.factories import api_headers, login_as, make_merchant, make_municipality


def _add(db, **overrides):
    values = {"name": "Fietsenmaker Van Dam", "categories": "transport", "iban": "NL91ABNA0417164300"}
    values.update(overrides)
    with db.transaction() as s:
        return add_merchant(s, "testdorp", **values)


def _counts(db):
    with db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Merchant)).scalar(),
            s.execute(select(func.count()).select_from(Account)).scalar(),
        )


@pytest.mark.money  # opens a ledger account: proven on both databases
def test_a_merchant_gets_a_payable_with_a_derived_balance_and_a_derived_bic(db):
    make_municipality(db)
    merchant = _add(db, iban="nl91 abna 0417 1643 00")
    assert merchant.iban == "NL91ABNA0417164300" and merchant.bic == "ABNANL2A"
    assert merchant.status == "approved" and merchant.approved
    with db.read() as s:
        account = ledger.get_account(s, books.merchant_key("testdorp", merchant.id))
        assert account.id == merchant.account_id
        assert account.kind == books.MERCHANT_PAYABLE and account.ledger == "testdorp"
        # Every payment at this merchant credits it: no shared row to lock
        # (settlement keeps it from going below zero).
        assert not account.balance_cached and not account.non_negative


@pytest.mark.parametrize("iban, message", [
    ("NL91ABNA0417164301", "check digits are wrong"),
    ("NL91ABNA041716430", "wrong length"),
    ("NL51ZZZZ0123456789", "no known Dutch bank"),
    ("TR330006100519786457841326", "outside the SEPA area"),
    ("hallo", "IBAN 'hallo' is not valid"),
    ("", "needs an IBAN"),
])
def test_an_invalid_iban_is_refused_with_a_clear_message_and_nothing_is_written(db, iban, message):
    make_municipality(db)
    before = _counts(db)
    with pytest.raises(ValidationFailed, match=message) as refused:
        _add(db, iban=iban)
    assert refused.value.code == "validation_error"
    assert _counts(db) == before


def test_a_bic_that_belongs_to_another_bank_is_refused(db):
    make_municipality(db)
    with pytest.raises(InvalidIBAN, match="does not belong"):
        _add(db, bic="RABONL2U")
    assert _counts(db)[0] == 0


def test_a_given_bic_of_the_same_bank_is_kept(db):
    make_municipality(db)
    assert _add(db, bic="ABNANL2AXXX").bic == "ABNANL2AXXX"


@pytest.mark.parametrize("categories, message", [
    ("groceries", "unknown category groceries"),
    ("school,gambling,food", "unknown categories food, gambling"),
    ("", "at least one category"),
    (" , ", "at least one category"),
])
def test_categories_must_come_from_the_contract(db, categories, message):
    make_municipality(db)
    with pytest.raises(ValidationFailed, match=message):
        _add(db, categories=categories)
    assert _counts(db)[0] == 0


def test_categories_are_normalised_and_the_merchant_accepts_only_those(db):
    make_municipality(db)
    merchant = _add(db, categories=" Clothing,school,clothing ")
    assert merchant.categories == "school,clothing"
    assert merchant.category_set == {"school", "clothing"}
    assert merchant_accepts_category(merchant, "clothing")
    assert not merchant_accepts_category(merchant, "sport_culture")
    assert not merchant_accepts_category(merchant, "clo")


@pytest.mark.parametrize("field, value, message", [
    ("kvk_number", "1234", "8 digits"),
    ("kvk_number", "1234567\u0665", "8 digits"),  # an Arabic-Indic five is a digit to \d, not to the KvK
    ("kvk_number", "12345678\n", "8 digits"),
    ("contact_email", "geen-adres", "not an e-mail address"),
    ("status", "open", "status must be one of"),
    ("name", "   ", "needs a name"),
])
def test_other_bad_details_are_refused(db, field, value, message):
    make_municipality(db)
    with pytest.raises(ValidationFailed, match=message):
        _add(db, **{field: value})
    assert _counts(db)[0] == 0


def test_the_same_name_twice_in_a_municipality_is_refused(db):
    make_municipality(db)
    _add(db)
    with pytest.raises(Conflict, match="already has a merchant"):
        _add(db, name=" Fietsenmaker  Van Dam ")
    assert _counts(db)[0] == 1


def test_an_unknown_municipality_or_merchant_is_not_found(db):
    with pytest.raises(NotFound), db.transaction() as s:
        add_merchant(s, "nergensdorp", name="X", categories="school", iban="NL91ABNA0417164300")
    with pytest.raises(NotFound), db.read() as s:
        get_merchant(s, 12345)


def test_only_approved_merchants_are_listed_unless_asked(db):
    make_merchant(db, name="Open", categories=("school",))
    suspended = make_merchant(db, name="Dicht", categories=("school",))
    make_merchant(db, name="Fiets", categories=("transport",))
    with db.transaction() as s:
        set_merchant_status(s, suspended, "suspended")
    with db.read() as s:
        assert [m.name for m in list_merchants(s, "testdorp")] == ["Fiets", "Open"]
        assert [m.name for m in list_merchants(s, "testdorp", category="school")] == ["Open"]
        assert [m.name for m in list_merchants(s, "testdorp", status=None)] == ["Dicht", "Fiets", "Open"]


def test_merchant_add_on_the_command_line_prints_the_id_last(cli, db):
    make_municipality(db)
    result = cli(
        "merchant", "add", "testdorp", "--name", "Kledingwinkel Mode & Zo", "--categories", "clothing",
        "--iban", "NL44RABO0123456789",
    )
    merchant_id = int(result.output.strip().splitlines()[-1])
    with db.read() as s:
        merchant = get_merchant(s, merchant_id)
        assert merchant.bic == "RABONL2U" and merchant.category_set == {"clothing"}


@pytest.mark.parametrize("args, message", [
    (["--iban", "NL44RABO0123456780", "--categories", "clothing"], "check digits are wrong"),
    (["--iban", "NL44RABO0123456789", "--categories", "clothing,snoep"], "unknown category snoep"),
    (["--iban", "NL44RABO0123456789", "--categories", "clothing", "--bic", "INGBNL2A"], "does not belong"),
])
def test_merchant_add_refuses_bad_input_in_one_line_and_writes_nothing(cli, db, args, message):
    make_municipality(db)
    before = _counts(db)
    result = cli("merchant", "add", "testdorp", "--name", "Mode & Zo", *args, ok=False)
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _counts(db) == before


def test_an_admin_adds_a_merchant_through_the_api_as_a_request_and_it_is_audited(client, db):
    login_as(client, "admin")
    body = {"name": "Zwembad De Golf", "categories": ["sport_culture"], "iban": "NL69INGB0123456789"}
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=body, headers=api_headers(client))
    assert response.status_code == 202
    assert response.json["kind"] == "merchant.approve" and response.json["status"] == "pending"
    merchant = response.json["merchant"]
    assert merchant["bic"] == "INGBNL2A" and merchant["categories"] == ["sport_culture"] and merchant["status"] == "pending"
    events = client.get("/api/v1/municipalities/testdorp/audit-events").json
    assert [e["action"] for e in events[:2]] == ["merchant.approve_request", "merchant.create"]
    assert events[1]["after"]["iban"] == "NL69INGB0123456789"


def test_a_merchant_asked_for_as_pending_through_the_api_is_added_as_it_is(client, db):
    login_as(client, "admin")
    body = {"name": "Zwembad De Golf", "categories": ["sport_culture"], "iban": "NL69INGB0123456789", "status": "pending"}
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=body, headers=api_headers(client))
    assert response.status_code == 201 and response.json["status"] == "pending"


def test_the_api_names_the_field_of_a_bad_iban(client, db):
    login_as(client, "admin")
    body = {"name": "Zwembad De Golf", "categories": ["sport_culture"], "iban": "NL69INGB0123456788"}
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=body, headers=api_headers(client))
    assert response.status_code == 422 and response.json["code"] == "validation_error"
    assert "check digits" in response.json["errors"]["iban"][0]
    bad_category = dict(body, iban="NL69INGB0123456789", categories=["snoep"])
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=bad_category, headers=api_headers(client))
    assert response.status_code == 422 and "categories" in response.json["errors"]
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Merchant)).scalar() == 0


def test_staff_list_merchants_through_the_api(client, db):
    make_merchant(db, name="Boekhandel Het Leesteken", categories=("school",))
    login_as(client, "caseworker")
    merchants = client.get("/api/v1/municipalities/testdorp/merchants?category=school").json
    assert [m["name"] for m in merchants] == ["Boekhandel Het Leesteken"]

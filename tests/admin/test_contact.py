"""Whom families call about their pass: the municipality's contact details, set by its own admin on
/admin/contact or by the operator (``pasdienst municipality set-contact``), through one service that checks
each field, refuses by code and records who changed what."""
from __future__ import annotations

import re

import pytest

from pasdienst.access.errors import Forbidden
from pasdienst.access.accounts import actor_for_email
from pasdienst.fields import FieldRefused
from pasdienst.municipalities.models import Contact
from pasdienst.municipalities.services import get_municipality, set_contact
from pasdienst.web import dutch
from tests.factories import OTHER_MUNICIPALITY, api_headers, login_as, make_municipality, make_user

from .conftest import audit_count, flashes, last_event, post

NOTHING = {"phone": None, "email": None, "website": None, "desk": None, "hours": None}
TYPED = {
    "phone": " 0513  123 456 ",
    "email": "kinderpas@testdorp.example",
    "website": "www.testdorp.example/kinderpas",
    "desk": "Gemeentehuis,   Dorpsstraat 1,\nTestdorp",
    "hours": "maandag t/m vrijdag 9.00-12.30 uur",
}
STORED = Contact(
    phone="0513 123 456",
    email="kinderpas@testdorp.example",
    website="https://www.testdorp.example/kinderpas",
    desk="Gemeentehuis, Dorpsstraat 1, Testdorp",
    hours="maandag t/m vrijdag 9.00-12.30 uur",
)


def _contact(db) -> Contact:
    with db.read() as s:
        return get_municipality(s, "testdorp").contact


def _set(db, who: str | None = None, code: str = "testdorp", **values: str | None) -> None:
    with db.transaction() as s:
        actor = actor_for_email(s, who) if who else None
        set_contact(s, code, actor=actor, **{**NOTHING, **values})


# -- the service ------------------------------------------------------------------------------

def test_an_admin_sets_the_contact_details_tidied_and_the_change_is_audited(db):
    admin = make_user(db, "admin")
    _set(db, admin.email, **TYPED)
    assert _contact(db) == STORED
    event = last_event(db, "municipality.contact")
    assert (event.actor_email, event.entity_type, event.entity_id) == (admin.email, "municipality", str(make_municipality(db)))
    assert event.before == NOTHING and event.after == STORED.as_dict()


def test_saving_the_same_details_records_nothing_and_an_empty_field_clears_its_detail(db):
    admin = make_user(db, "admin")
    _set(db, admin.email, **TYPED)
    _set(db, admin.email, **STORED.as_dict())
    assert audit_count(db, "municipality.contact") == 1
    _set(db, admin.email, **{**TYPED, "email": "  ", "hours": ""})
    assert _contact(db) == Contact(phone=STORED.phone, website=STORED.website, desk=STORED.desk)
    assert audit_count(db, "municipality.contact") == 2
    _set(db, admin.email)
    assert _contact(db) == Contact() and not _contact(db).given


@pytest.mark.parametrize("field, typed, refusal, said", [
    ("phone", "bel ons", "phone_invalid", "Het telefoonnummer klopt niet: typ het zoals 0513 123 456"),
    ("phone", "12", "phone_invalid", "Het telefoonnummer klopt niet"),
    ("phone", "0513\x00123456", "phone_invalid", "Het telefoonnummer klopt niet"),
    ("phone", "+31 513 123 456 789 012 34", "phone_invalid", "Het telefoonnummer klopt niet"),
    ("email", "kinderpas@", "email_invalid", "Het e-mailadres klopt niet: typ het zoals info@voorbeeld.nl."),
    ("email", "kinder pas@testdorp.example", "email_invalid", "Het e-mailadres klopt niet"),
    ("website", "ftp://testdorp.example", "website_scheme", "Het webadres moet met http:// of https:// beginnen."),
    ("website", "www.testdorp .example", "website_spaces", "Het webadres mag geen spaties bevatten."),
    ("website", "https://localhost", "website_invalid", "Het webadres klopt niet. Vul een webadres in zoals www.voorbeeld.nl."),
    ("website", "javascript:alert(1)", "website_invalid", "Het webadres klopt niet."),
    ("website", "www.testdorp.example/" + "x" * 280, "field_too_long", "Het webadres is te lang (hoogstens 300 tekens)."),
    ("desk", "Dorpsstraat 1 " * 15, "field_too_long", "Het adres van de balie is te lang (hoogstens 200 tekens)."),
    ("desk", "Dorpsstraat\x001", "field_control_characters", "Het adres van de balie bevat tekens die daar niet in horen."),
    ("hours", "9-12 uur " * 23, "field_too_long", "De regel met openingstijden is te lang (hoogstens 200 tekens)."),
    ("hours", "9\x7f-12 uur", "field_control_characters", "De regel met openingstijden bevat tekens die daar niet in horen."),
])
def test_each_detail_that_is_not_what_it_says_is_refused_by_code_in_dutch_and_nothing_changes(db, field, typed, refusal, said):
    admin = make_user(db, "admin")
    _set(db, admin.email, **TYPED)
    with pytest.raises(FieldRefused) as refused:
        _set(db, admin.email, **{**TYPED, field: typed})
    assert (refused.value.refusal, refused.value.field) == (refusal, field)
    assert dutch.refusal(refused.value).startswith(said)
    assert _contact(db) == STORED and audit_count(db, "municipality.contact") == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_longest_details_the_checks_allow_fit_their_columns_on_both_databases(db, backend):
    make_municipality(db)
    longest = Contact(
        phone="+31 (0)513 - 12 - 34 - 5",
        email="k" * 62 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".nl",
        website="https://" + "w" * 60 + ".example/" + "p" * 223,
        desk="D" * 200,
        hours="u" * 200,
    )
    assert len(longest.email or "") == 254 and len(longest.website or "") == 300
    _set(db, **longest.as_dict())
    assert _contact(db) == longest


def test_only_the_municipalitys_own_admin_may_set_its_details(db):
    make_municipality(db)
    for who in (make_user(db, "caseworker"), make_user(db, "finance"), make_user(db, "admin", municipality=OTHER_MUNICIPALITY)):
        with pytest.raises(Forbidden):
            _set(db, who.email, **TYPED)
    assert _contact(db) == Contact() and audit_count(db, "municipality.contact") == 0


# -- the page ---------------------------------------------------------------------------------

def _words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_an_admin_reaches_the_page_from_the_navigation_and_saves_the_details(client, db):
    admin = login_as(client, "admin")
    page = client.get("/admin")
    assert '<a href="/admin/contact">Contactgegevens</a>' in page.get_data(as_text=True)
    empty = _words(client.get("/admin/contact"))
    assert "Contactgegevens voor gezinnen" in empty
    assert "Bel het algemene telefoonnummer van Gemeente Testdorp, of kijk op de website van de gemeente." in empty

    response = post(client, "/admin/contact", TYPED, token_from="/admin/contact")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/contact"
    assert flashes(client) == ["De contactgegevens zijn opgeslagen. Gezinnen zien ze op de pagina van hun pas en in de brieven."]
    assert _contact(db) == STORED
    assert last_event(db, "municipality.contact").actor_email == admin.email
    html = client.get("/admin/contact").get_data(as_text=True)
    assert 'value="0513 123 456"' in html and 'value="https://www.testdorp.example/kinderpas"' in html
    # The preview says it the way the pass page will.
    assert '<a href="tel:0513123456">0513 123 456</a>' in html
    assert '<a href="mailto:kinderpas@testdorp.example">kinderpas@testdorp.example</a>' in html
    assert '<a href="https://www.testdorp.example/kinderpas" rel="noopener noreferrer">www.testdorp.example/kinderpas</a>' in html
    assert "Bel het algemene" not in html


def test_a_refused_detail_is_said_in_dutch_beside_its_field_keeping_what_was_typed(client, db):
    login_as(client, "admin")
    response = post(client, "/admin/contact", {**TYPED, "website": "javascript:alert(1)"}, token_from="/admin/contact")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<p class="field-error" id="contact-error" role="alert">Het webadres klopt niet\.', html)
    field = re.search(r'<input id="contact-website"[^>]*>', html, re.S).group(0)
    assert 'aria-invalid="true"' in field and "contact-error" in field and 'value="javascript:alert(1)"' in field
    assert 'value="kinderpas@testdorp.example"' in html  # the other fields as typed
    assert 'href="javascript' not in html
    assert _contact(db) == Contact() and audit_count(db, "municipality.contact") == 0


@pytest.mark.parametrize("role", ["caseworker", "finance"])
def test_other_staff_may_not_open_or_post_the_page(client, db, role):
    login_as(client, role)
    assert client.get("/admin/contact").status_code == 403
    assert client.post("/admin/contact", data=TYPED, headers=api_headers(client)).status_code == 403
    assert _contact(db) == Contact()


# -- the command line -------------------------------------------------------------------------

def test_the_command_line_sets_some_details_keeps_the_others_and_clears_with_an_empty_value(cli, db):
    make_municipality(db)
    out = cli("municipality", "set-contact", "testdorp", "--phone", "14 0513", "--website", "testdorp.example").output
    assert out.strip() == "municipality testdorp contact: phone 14 0513, website https://testdorp.example"
    cli("municipality", "set-contact", "testdorp", "--desk", "Dorpsstraat 1", "--phone", "")
    assert _contact(db) == Contact(website="https://testdorp.example", desk="Dorpsstraat 1")
    event = last_event(db, "municipality.contact")
    assert event.actor_email == "cli" and event.before["phone"] == "14 0513" and event.after["phone"] is None


def test_the_command_line_refuses_a_bad_detail_in_one_line_and_changes_nothing(cli, db):
    make_municipality(db)
    result = cli("municipality", "set-contact", "testdorp", "--phone", "0513 123 456", "--email", "nergens", ok=False)
    assert result.exit_code == 1
    assert result.output.strip() == "error: email is not an e-mail address"
    assert _contact(db) == Contact()
    assert cli("municipality", "set-contact", "nowhere", "--phone", "14 0513", ok=False).output.strip() == (
        "error: no municipality 'nowhere'"
    )

"""Whom to call, on the holder's page and letter: the municipality's own phone, e-mail, website and desk
where they said only "neem contact op met Gemeente …"; and the letter reads as a letter: dated, with a
greeting, what a strip is worth, and amounts that never lose their euro sign."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from pasdienst.municipalities.services import set_contact
from pasdienst.wallet import tokens

from .helpers import CODE, TODAY, issued, pass_of
from .test_pass_page import STIGMA, visible_text

CONTACT = {
    "phone": "0516 - 566 000",
    "email": "kinderpas@opsterland.example",
    "website": "https://www.opsterland.example/kinderpas/",
    "desk": "Gemeentehuis, Hoofdstraat 1, Gorredijk",
    "hours": "dinsdag en donderdag 9.00-12.00 uur",
}


@pytest.fixture
def page(settings, db):
    """A client of the app with "today" inside the 2027 scheme, and Omar's pass (a punch card among his vouchers)."""
    from pasdienst.web.app import create_app

    issued(db, settings)
    with db.read() as s:
        token = tokens.token_for(settings, pass_of(s, "K-2").handle)
    app = create_app(replace(settings, today=TODAY), db=db)
    app.config.update(TESTING=True)
    client = app.test_client()
    return lambda path="": client.get(f"/p/{token}{path}").get_data(as_text=True)


def _contact(db) -> None:
    with db.transaction() as s:
        set_contact(s, CODE, **CONTACT)


@pytest.mark.parametrize("path", ["", "/brief"])
def test_the_pass_page_and_the_letter_say_whom_to_call_with_the_municipalitys_own_details(page, db, path):
    _contact(db)
    html = page(path)
    words = visible_text(html)
    assert "Vragen of pas kwijt?" in words
    assert "Neem contact op met Gemeente Opsterland en noem het pasnummer KP-2027-" in words
    assert '<a href="tel:0516566000">0516 - 566 000</a>' in html
    assert '<a href="mailto:kinderpas@opsterland.example">kinderpas@opsterland.example</a>' in html
    # The address as people type it, the link as stored.
    assert '<a href="https://www.opsterland.example/kinderpas/" rel="noopener noreferrer">www.opsterland.example/kinderpas</a>' in html
    assert "Gemeentehuis, Hoofdstraat 1, Gorredijk" in words and "dinsdag en donderdag 9.00-12.00 uur" in words
    assert "Bel het algemene telefoonnummer" not in words


@pytest.mark.parametrize("path", ["", "/brief"])
def test_without_details_both_say_to_call_the_municipality_as_one_would_anyway(page, path):
    words = visible_text(page(path))
    assert "Vragen of pas kwijt? Neem contact op met Gemeente Opsterland en noem het pasnummer" in words
    assert "Bel het algemene telefoonnummer van Gemeente Opsterland, of kijk op de website van de gemeente." in words
    assert "tel:" not in page(path) and "mailto:" not in page(path)


def test_only_the_details_given_are_shown(page, db):
    with db.transaction() as s:
        set_contact(s, CODE, phone=None, email=None, website=None, desk=None, hours="elke ochtend")
    html = page()
    contact = re.search(r'<dl class="contact-list">(.*?)</dl>', html, re.S).group(1)
    assert visible_text(contact).split() == ["Balie", "elke", "ochtend"]


def test_the_letter_is_dated_greets_the_reader_and_says_what_a_strip_is_worth(page, db):
    _contact(db)
    html = page("/brief")
    words = visible_text(html)
    assert '<p class="letter-date">15 januari 2027</p>' in html  # the day it is printed
    assert "Beste ouder of verzorger, Hier is de kinderpas van Omar." in words
    assert "10 strippen" in words and "Eén strip is €\xa04,50 waard." in html
    # An amount never ends a line without its euro sign: the no-break space labels.euros writes.
    assert re.search(r'<span class="letter-amount">€\xa0150,00</span>', html)
    assert "Met vriendelijke groet, Gemeente Opsterland" in words
    assert STIGMA.search(words) is None, STIGMA.search(words)


def test_the_letter_says_where_each_voucher_goes_by_the_tills_rule(page, db):
    from .test_pass_page import opsterland_merchants

    opsterland_merchants(db)
    words = visible_text(page("/brief"))
    assert "Waar: alleen bij Zwembad De Golf (Beetsterzwaag)" in words
    assert "Waar: bij Sportclub De Sprint (Gorredijk) en Zwembad De Golf (Beetsterzwaag)" in words


def test_a_blocked_pass_says_whom_to_call_and_a_forged_link_names_nobody(page, db, settings):
    from pasdienst.wallet.services import block_pass

    _contact(db)
    with db.transaction() as s:
        block_pass(s, pass_of(s, "K-2").pass_number, reason="kwijt")
    html = page()
    words = visible_text(html)
    assert "Deze pas is geblokkeerd" in words
    assert "Vragen? Neem contact op met Gemeente Opsterland en noem het pasnummer uit uw brief." in words
    assert '<a href="tel:0516566000">0516 - 566 000</a>' in html and "Gemeentehuis, Hoofdstraat 1, Gorredijk" in words

    from pasdienst.web.app import create_app

    client = create_app(replace(settings, today=TODAY), db=db).test_client()
    other = client.get("/p/nonsense").get_data(as_text=True)
    assert "Deze pas is niet bekend" in visible_text(other)
    assert "Opsterland" not in other and "tel:" not in other and "neem contact op met uw gemeente" in visible_text(other).lower()

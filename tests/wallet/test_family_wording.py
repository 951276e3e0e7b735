"""A family is spoken to in one voice: the pass page, the letter on screen, the printed letter and the
reminder mail address the parent as "u", never "je", and say the same thing in the same words."""
from __future__ import annotations

import io
from collections.abc import Callable
import re
from dataclasses import replace
from datetime import date

import pytest
from pypdf import PdfReader

from pasdienst.municipalities.models import Contact
from pasdienst.reminders.mail import PassLink, reminder_message
from pasdienst.wallet import letters, qr, tokens, wording

from .helpers import TODAY, issued, pass_of
from .test_pass_page import visible_text

#: The informal "you" in its forms; "u" and "uw" are how every family text speaks.
INFORMAL = re.compile(r"\b(je|jij|jou|jouw|jullie)\b", re.IGNORECASE)


@pytest.fixture
def page(settings, db) -> Callable[..., str]:
    """The visible text of Omar's pass page (or its ``/brief``), with "today" inside the 2027 scheme."""
    from pasdienst.web.app import create_app

    issued(db, settings)
    with db.read() as s:
        token = tokens.token_for(settings, pass_of(s, "K-2").handle)
    app = create_app(replace(settings, today=TODAY), db=db)
    app.config.update(TESTING=True)
    client = app.test_client()
    return lambda path="": visible_text(client.get(f"/p/{token}{path}").get_data(as_text=True))


def _printed(**changes: object) -> str:
    url = "https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk"
    modules = qr.matrix(url)
    voucher = letters.LetterVoucher("Tegoed sport en cultuur", "€ 150,00", "sportclubs en zwembaden")
    values: dict[str, object] = dict(
        pass_id=7, pass_number="KP-2027-000007", child_ref="J-7", first_name="Nora", municipality_name="Gemeente Testdorp",
        code="ABCD-EFGH-JK01", url=url, valid_from="1 januari 2027", valid_until="31 december 2027",
        vouchers=(voucher,), qr_size=len(modules), qr_runs=tuple(qr.runs(modules)), date="15 maart 2027", contact=Contact(),
    )
    buffer = io.BytesIO()
    letters.write_pdf([letters.Letter(**{**values, **changes})], buffer)
    return " ".join(PdfReader(io.BytesIO(buffer.getvalue())).pages[0].extract_text().split())


def test_the_pass_page_and_the_letter_on_screen_say_u(page):
    for text in (page(), page("/brief")):
        assert INFORMAL.search(text) is None, INFORMAL.search(text)
    letter = page("/brief")
    assert wording.introduction("Omar") in letter
    assert "Met de pas betaalt u bij winkels, clubs en scholen die meedoen" in letter
    assert wording.PRINT_HINT in letter


def test_the_pass_page_and_both_letters_tell_a_lost_pass_in_the_same_words(page):
    screen = page()
    number = re.search(r"KP-\d{4}-\d{6}", screen).group(0)
    sentence = wording.lost_pass("Gemeente Opsterland", number)
    assert sentence in screen and sentence in page("/brief")
    assert wording.lost_pass("Gemeente Testdorp", "KP-2027-000007") in _printed()


def test_the_printed_letter_says_u_even_when_its_vouchers_do_not_fit():
    many = tuple(letters.LetterVoucher(f"Strippenkaart nummer {n}", f"{n} strippen", "winkels die meedoen") for n in range(30))
    for text in (_printed(), _printed(vouchers=many)):
        assert INFORMAL.search(text) is None, INFORMAL.search(text)
    assert "u ziet ze op de pagina van de pas" in _printed(vouchers=many)


def test_the_reminder_mail_greets_and_signs_off_as_the_letter_does(settings):
    link = PassLink(first_name="Nora", url="https://pas.example.nl/p/x", valid_until=date(2027, 12, 31))
    message = reminder_message(settings=settings, to="ouder@example.nl", municipality_name="Gemeente Testdorp",
                               passes=[link], unsubscribe_url="https://pas.example.nl/afmelden/x")
    body = message.get_content()
    assert body.startswith(wording.GREETING + "\n")
    assert f"{wording.SIGN_OFF}\nGemeente Testdorp\n" in body
    assert INFORMAL.search(body) is None

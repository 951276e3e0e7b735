"""Whom to call, on a 360 px phone: the pass page and the letter show the municipality's contact details,
neither scrolls sideways, and no amount is split from its euro sign; /admin/contact, where an admin sets
them, and every state of the three pages have no accessibility violations at all (axe-core, any impact).

Screenshots: docs/screenshots/pass-contact.png, letter-phone.png, admin-contact.png, admin-contact-error.png.
"""
from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pasdienst.municipalities.services import set_contact
from pasdienst.wallet import tokens
from tests.factories import MadeUser, make_user
from tests.wallet.helpers import CODE, TODAY, issued, pass_of
from tests.wallet.test_pass_page import opsterland_merchants

from .helpers import PHONE, phone_page, screenshot

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: As test_accessibility.py: WCAG 2.1 A and AA and axe's best practices; here every impact counts.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "locale": "nl-NL", "timezone_id": "Europe/Amsterdam"}

CONTACT = {
    "phone": "0516 - 566 000",
    "email": "kinderpas@opsterland.example",
    "website": "https://www.opsterland.example/kinderpas",
    "desk": "Gemeentehuis, Hoofdstraat 1, Gorredijk",
    "hours": "dinsdag en donderdag 9.00-12.00 uur",
}
#: Each detail as long as its check allows, in words no line break may split.
LONGEST = {
    "phone": "+31 (0)516 - 56 - 60 - 0",
    "email": "informatiepunt.kinderpas.en.vragen@gemeente-opsterland-gorredijk.example",
    "website": "https://www.gemeente-opsterland-gorredijk.example/inwoners/kinderpas-voor-kinderen-tot-achttien-jaar",
    "desk": "Servicepunt in het Gemeentehuis, Hoofdstraat 1, 8401 BJ Gorredijk " * 3,
    "hours": "maandag, dinsdag, woensdag en donderdag van 9.00 tot 12.00 uur en van 13.00 tot 16.30 uur " * 2,
}

#: Every "€ 150,00" on the page whose euro sign and amount are not on one line (a Range over them has
#: two boxes then): the text nodes are walked, not the markup, so no amount is missed.
SPLIT_AMOUNTS = """() => {
    const split = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const found of node.data.matchAll(/€\\s?[0-9.]+,[0-9]{2}/g)) {
            const range = document.createRange();
            range.setStart(node, found.index);
            range.setEnd(node, found.index + found[0].length);
            const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (lines.size !== 1) split.push(found[0]);
        }
    }
    return split;
}"""


@pytest.fixture
def live_app(settings, db):
    from pasdienst.web.app import create_app

    return create_app(replace(settings, today=TODAY), db=db)


def _pass(db, settings, monkeypatch, contact: dict[str, str] | None = CONTACT) -> str:
    """Omar's pass (a budget, a punch card and a cheque) in Opsterland with its merchants; its address."""
    # Fixed handles (and the fixed test key) keep the screenshots the same from run to run.
    handles = iter(base64.b32encode((4343 + n).to_bytes(8, "big")).decode().rstrip("=") for n in range(100))
    monkeypatch.setattr(tokens, "new_handle", lambda: next(handles))
    issued(db, settings)
    opsterland_merchants(db)
    if contact:
        _contact(db, contact)
    with db.read() as s:
        return "/p/" + tokens.token_for(settings, pass_of(s, "K-2").handle)


def _contact(db, values: dict[str, str | None]) -> None:
    with db.transaction() as s:
        set_contact(s, CODE, **values)


def _fits(page: Page) -> None:
    """Nothing sideways on the 360 px phone, and no amount broken over two lines."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, page.url
    assert page.evaluate(SPLIT_AMOUNTS) == [], page.url


def violations(page: Page) -> list[str]:
    """Every axe-core finding on the page as it is now, whatever its impact, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map(v => `${v.impact}: ${v.id} (${v.help}) at ${v.nodes.slice(0, 5).map(n => n.target.join(" "))}`);
        }""",
        AXE_TAGS,
    )
    return list(found)


def log_in(page: Page, base: str, user: MadeUser, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(user.password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}{target}")


def test_the_pass_page_and_the_letter_show_whom_to_call_and_fit_a_360_px_phone(live_server, launch_browser, db, settings, monkeypatch):
    path = _pass(db, settings, monkeypatch)
    page = phone_page(launch_browser(camera=False))

    page.goto(live_server.url + path)
    contact = page.locator("section.contact")
    expect(contact.get_by_role("heading", level=2)).to_have_text("Vragen of pas kwijt?")
    expect(contact.get_by_role("link", name="0516 - 566 000")).to_have_attribute("href", "tel:0516566000")
    expect(contact.get_by_role("link", name="kinderpas@opsterland.example")).to_have_attribute(
        "href", "mailto:kinderpas@opsterland.example")
    expect(contact.get_by_role("link", name="www.opsterland.example/kinderpas")).to_have_attribute(
        "href", "https://www.opsterland.example/kinderpas")
    expect(contact).to_contain_text("Gemeentehuis, Hoofdstraat 1, Gorredijk")
    expect(contact).to_contain_text("dinsdag en donderdag 9.00-12.00 uur")
    _fits(page)
    screenshot(page, "pass-contact")

    page.goto(live_server.url + path + "/brief")
    expect(page.get_by_role("heading", level=1)).to_have_text("De kinderpas van Omar")
    expect(page.locator(".letter-date")).to_have_text("15 januari 2027")
    expect(page.get_by_text("Beste ouder of verzorger,")).to_be_visible()
    budget = page.locator(".letter-vouchers li").filter(has_text="Tegoed sport en cultuur")
    amount = budget.locator(".letter-amount")
    expect(amount).to_have_text("€\xa0150,00")
    assert amount.evaluate("e => e.getClientRects().length") == 1
    swim = page.locator(".letter-vouchers li").filter(has_text="Strippenkaart zwemmen")
    expect(swim).to_contain_text("10 strippen")
    expect(swim.locator(".letter-strip")).to_have_text("Eén strip is €\xa04,50 waard.")
    expect(page.get_by_role("link", name="0516 - 566 000")).to_have_attribute("href", "tel:0516566000")
    expect(page.get_by_role("link", name="www.opsterland.example/kinderpas")).to_be_visible()
    _fits(page)
    screenshot(page, "letter-phone")

    # The longest details the checks allow still wrap inside the phone's width.
    _contact(db, LONGEST)
    for shown in (path, path + "/brief"):
        page.goto(live_server.url + shown)
        expect(page.get_by_role("link", name=LONGEST["email"])).to_be_visible()
        _fits(page)


def test_without_details_the_pages_say_to_call_the_municipality_and_still_fit(live_server, launch_browser, db, settings, monkeypatch):
    path = _pass(db, settings, monkeypatch, contact=None)
    page = phone_page(launch_browser(camera=False))
    for shown in (path, path + "/brief"):
        page.goto(live_server.url + shown)
        expect(page.get_by_text("Bel het algemene telefoonnummer van Gemeente Opsterland, of kijk op de website van de gemeente.")).to_be_visible()
        expect(page.locator("a[href^='tel:']")).to_have_count(0)
        _fits(page)


def test_an_admin_sets_the_details_on_a_phone_and_a_refusal_is_said_beside_its_field(live_server, launch_browser, db, settings, monkeypatch):
    _pass(db, settings, monkeypatch, contact=None)
    admin = make_user(db, "admin", municipality=CODE, email="beheer@opsterland.example")
    browser = launch_browser(camera=False)
    page = browser.new_context(**PHONE).new_page()  # the real CSP: a violation would show in the console
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    log_in(page, live_server.url, admin, "/admin/contact")
    page.get_by_label("Telefoonnummer").fill(CONTACT["phone"])
    page.get_by_label("E-mailadres").fill(CONTACT["email"])
    page.get_by_label("Webadres").fill("www.opsterland .example")
    page.get_by_label("Adres van de balie").fill(CONTACT["desk"])
    page.get_by_label("Openingstijden van de balie").fill(CONTACT["hours"])
    page.get_by_role("button", name="Contactgegevens opslaan").click()
    error = page.get_by_role("alert")
    expect(error).to_have_text("Het webadres mag geen spaties bevatten. Vul een webadres in zoals www.voorbeeld.nl.")
    expect(page.get_by_label("Webadres")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("E-mailadres")).to_have_value(CONTACT["email"])  # nothing to type twice
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    screenshot(page, "admin-contact-error")

    page.get_by_label("Webadres").fill("www.opsterland.example/kinderpas")
    page.get_by_role("button", name="Contactgegevens opslaan").click()
    expect(page.get_by_role("status")).to_have_text(
        "De contactgegevens zijn opgeslagen. Gezinnen zien ze op de pagina van hun pas en in de brieven.")
    preview = page.locator("section.contact-preview")
    expect(preview.get_by_role("link", name="0516 - 566 000")).to_have_attribute("href", "tel:0516566000")
    expect(preview.get_by_role("link", name="www.opsterland.example/kinderpas")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    screenshot(page, "admin-contact")
    assert blocked == []


def test_the_contact_page_and_the_pages_showing_it_have_no_accessibility_violations_in_any_state(
    live_server, launch_browser, db, settings, monkeypatch
):
    path = _pass(db, settings, monkeypatch, contact=None)
    admin = make_user(db, "admin", municipality=CODE, email="beheer@opsterland.example")
    browser = launch_browser(camera=False)
    phone = browser.new_context(**{**PHONE, "permissions": []}, bypass_csp=True).new_page()
    desktop = browser.new_context(**DESKTOP, bypass_csp=True).new_page()
    log_in(desktop, live_server.url, admin, "/admin/contact")

    def check(page: Page, state: str) -> None:
        found = violations(page)
        assert found == [], f"{state} ({page.url}):\n  " + "\n  ".join(found)

    for state, values in (("no details", None), ("every detail", CONTACT), ("only the desk", {"desk": CONTACT["desk"]})):
        if values is not None:
            _contact(db, {**dict.fromkeys(CONTACT), **values})
        for shown in (path, path + "/brief"):
            phone.goto(live_server.url + shown)
            check(phone, f"{shown} with {state}")
        desktop.goto(live_server.url + "/admin/contact")
        check(desktop, f"/admin/contact with {state}")
    desktop.get_by_label("Telefoonnummer").fill("bel ons")
    desktop.get_by_role("button", name="Contactgegevens opslaan").click()
    expect(desktop.get_by_role("alert")).to_contain_text("Het telefoonnummer klopt niet")
    check(desktop, "/admin/contact with a refused phone number")

    # A blocked pass: its page says whom to call, and fits the phone.
    from pasdienst.wallet.services import block_pass

    with db.transaction() as s:
        block_pass(s, pass_of(s, "K-2").pass_number, reason="kwijt")
    phone.goto(live_server.url + path)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Deze pas is geblokkeerd")
    expect(phone.get_by_role("link", name="Gemeentehuis")).to_have_count(0)
    expect(phone.locator("section.contact")).to_contain_text("Gemeentehuis, Hoofdstraat 1, Gorredijk")
    _fits(phone)
    check(phone, "a blocked pass with only the desk")


def test_the_split_amount_check_does_find_an_amount_split_over_two_lines(launch_browser):
    """Guards the guard: an amount with an ordinary space in a narrow box breaks after its euro sign."""
    page = launch_browser(camera=False).new_context(**PHONE).new_page()
    page.set_content('<!doctype html><html lang="nl"><body><p style="width:3em">€ 150,00</p><p>€\xa04,50</p></body></html>')
    assert page.evaluate(SPLIT_AMOUNTS) == ["€ 150,00"]

"""The holder's pass page on a phone: it fits, and its QR scans off the screen.

The QR is cut out of a screenshot of the page as a 360 px phone shows it and
fed to another browser's fake camera; the vendored decoder must read the
pass URL from it. That is what a merchant's phone does at the till.
"""
from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import expect

from pasdienst.wallet import tokens
from tests.wallet.helpers import TODAY, issued, pass_of
from tests.wallet.test_pass_page import opsterland_merchants

from .harness import make_app
from .helpers import phone_page, qr_video, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(settings, db):  # noqa: ANN001, ANN201
    from pasdienst.web.app import create_app

    return create_app(replace(settings, today=TODAY), db=db)


def test_the_pass_page_fits_a_phone_and_its_qr_scans_off_the_screen(
    live_server, launch_browser, serve, db, settings, tmp_path: Path, monkeypatch
):
    # Fixed handles (and the fixed test key) keep the screenshot the same from run to run.
    handles = iter(base64.b32encode((4242 + n).to_bytes(8, "big")).decode().rstrip("=") for n in range(100))
    monkeypatch.setattr(tokens, "new_handle", lambda: next(handles))
    issued(db, settings)
    opsterland_merchants(db)
    with db.read() as s:
        handle = pass_of(s, "K-2").handle
    token = tokens.token_for(settings, handle)

    browser = launch_browser()
    page = phone_page(browser)
    page.goto(f"{live_server.url}/p/{token}")
    # Where each voucher can be spent: the merchants that take it, the swimming card only at the pool.
    swim = page.locator("li.voucher").filter(has=page.get_by_role("heading", name="Strippenkaart zwemmen"))
    expect(swim.locator("summary")).to_have_text("Alleen te gebruiken bij 1 aanbieder")
    expect(swim.locator(".places li")).to_have_text(["Zwembad De Golf, Beetsterzwaag Zwemles (A, B en C) en vrij zwemmen"])
    sport = page.locator("li.voucher").filter(has=page.get_by_role("heading", name="Tegoed sport en cultuur"))
    expect(sport.get_by_role("link", name="Sportclub De Sprint")).to_have_attribute("href", "https://www.desprint.example")
    qr = page.locator("img.pass-qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    # Big on a 360 px screen, square, and nothing sticks out sideways.
    assert box is not None and box["width"] >= 250 and box["width"] == box["height"]
    for element in ("main", ".pass-card", ".vouchers", ".places"):
        area = page.locator(element).first.bounding_box()
        assert area is not None and area["x"] >= 0 and area["x"] + area["width"] <= 360, element
    assert page.evaluate("() => document.documentElement.scrollWidth") == 360
    screenshot(page, "pass-page")
    shot = qr.screenshot()

    reader = phone_page(launch_browser(qr_video(shot, tmp_path / "screen.y4m")))
    reader.goto(f"{serve(make_app())}/harness/decode")
    expect(reader.locator("#out")).to_have_text(f"https://pas.example.nl/p/{token}", timeout=15_000)


def test_the_old_link_of_a_replaced_pass_says_a_new_letter_came_and_fits_a_phone(live_server, launch_browser, db, settings):
    from pasdienst.wallet.services import reissue_pass

    issued(db, settings)
    with db.transaction() as s:
        old = pass_of(s, "K-2")
        token = tokens.token_for(settings, old.handle)
        reissue_pass(s, old.pass_number, settings=settings, today=TODAY)

    page = phone_page(launch_browser(camera=False))
    page.goto(f"{live_server.url}/p/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Deze pas is vervangen")
    expect(page.get_by_text("Gebruik de QR-code of de code uit de nieuwe brief")).to_be_visible()
    expect(page.locator(".pass-header")).to_have_text("Gemeente Opsterland")
    assert page.evaluate("() => document.documentElement.scrollWidth") == 360
    screenshot(page, "pass-replaced")

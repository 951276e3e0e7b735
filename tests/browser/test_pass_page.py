"""The holder's pass page on a phone: it fits, and its QR scans off the screen.

The QR is cut out of a screenshot of the page as a 360 px phone shows it and
fed to another browser's fake camera; the vendored decoder must read the
pass URL from it. That is what a merchant's phone does at the till.

Once opened, the page opens again without data (its service worker,
static/wallet/sw.js), with the balance it last had and when that was.
"""
from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError, expect

from pasdienst.clock import AMSTERDAM
from pasdienst.wallet import tokens
from pasdienst.wallet.services import block_pass
from tests.wallet.helpers import TODAY, issued, pass_of, spend
from tests.wallet.test_pass_page import opsterland_merchants

from .harness import make_app
from .helpers import phone_page, qr_video, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(settings, db):
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


# -- without data ----------------------------------------------------------------

#: What the service workers of this browser keep, per cache: the paths of its entries.
KEPT = """async () => {
    const kept = {};
    for (const name of await caches.keys()) {
        kept[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname).sort();
    }
    return kept;
}"""
SCOPES = "async () => (await navigator.serviceWorker.getRegistrations()).map((r) => new URL(r.scope).pathname).sort()"


def token_of(db, settings, child_ref: str) -> str:
    with db.read() as s:
        return tokens.token_for(settings, pass_of(s, child_ref).handle)


def opened(page, url: str):
    """Open a pass page and wait until its worker holds the copy."""
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("data-offline", "ready")
    return page


def sport(page):
    return page.locator("li.voucher").filter(has=page.get_by_role("heading", name="Tegoed sport en cultuur")).locator(".voucher-balance")


def test_once_opened_the_pass_shows_without_data_with_the_balance_and_when_it_was_read(
    live_server, launch_browser, db, settings, fixed_clock, monkeypatch
):
    # Fixed handles, and the fixed clock: the screenshot is the same from run to run.
    handles = iter(base64.b32encode((4242 + n).to_bytes(8, "big")).decode().rstrip("=") for n in range(100))
    monkeypatch.setattr(tokens, "new_handle", lambda: next(handles))
    issued(db, settings)
    url = f"{live_server.url}/p/{token_of(db, settings, 'K-2')}"
    fixed_clock.set(datetime(2027, 1, 15, 14, 5, tzinfo=AMSTERDAM))
    page = opened(phone_page(launch_browser(camera=False)), url)
    expect(sport(page)).to_have_text("€ 150,00")
    expect(page.locator(".pass-stored")).to_be_hidden()

    # Omar pays at the club; later his phone has no data.
    spend(db, "K-2", "sport_culture", 1250)
    fixed_clock.set(datetime(2027, 1, 15, 16, 30, tzinfo=AMSTERDAM))
    page.context.set_offline(True)
    page.reload()
    note = page.locator(".pass-stored")
    expect(note).to_be_visible()
    expect(note.locator("strong")).to_have_text("Saldo van 15 januari 14:05")
    expect(note).to_contain_text("De QR-code werkt gewoon.")
    expect(sport(page)).to_have_text("€ 150,00")  # the last known balance, said to be that
    expect(page.get_by_role("heading", level=1)).to_have_text("Omar")
    qr = page.locator("img.pass-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("(img) => img.complete && img.naturalWidth > 0"), "the QR code came from the kept copy"
    assert page.locator(".pass-card").evaluate("(el) => getComputedStyle(el).borderRadius") == "16px"  # styles kept too
    assert page.evaluate("() => document.documentElement.scrollWidth") == 360
    screenshot(page, "pass-offline")

    page.context.set_offline(False)
    page.reload()
    expect(sport(page)).to_have_text("€ 137,50")  # online: the live balance
    expect(page.locator(".pass-stored")).to_be_hidden()
    # The copy follows: offline again, it has the balance of 16:30.
    expect(page.locator("html")).to_have_attribute("data-offline", "ready")
    page.context.set_offline(True)
    page.reload()
    expect(page.locator(".pass-stored strong")).to_have_text("Saldo van 15 januari 16:30")
    expect(sport(page)).to_have_text("€ 137,50")


def test_each_pass_keeps_only_its_own_page_and_never_the_till_or_staff_pages(live_server, launch_browser, db, settings):
    issued(db, settings)
    omar, nora = token_of(db, settings, "K-2"), token_of(db, settings, "K-1")
    page = opened(phone_page(launch_browser(camera=False)), f"{live_server.url}/p/{omar}")
    # The home screen: the manifest Chrome reads, and nothing keeps the page from being installed.
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith(f"/p/{omar}/manifest.webmanifest")
    # A Playwright context is off the record, where Chrome installs nothing; it
    # still checks the rest (a page without a manifest adds "no-manifest" here).
    assert [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]] == ["in-incognito"]

    opened(page, f"{live_server.url}/p/{nora}")  # a brother's pass on the same phone: a worker and a copy of its own
    page.goto(f"{live_server.url}/p/{omar}/brief")  # the letter is under the scope but not kept
    expect(page.get_by_role("heading", level=1)).to_contain_text("Omar")
    assert page.evaluate(SCOPES) == sorted([f"/p/{omar}", f"/p/{nora}"])
    kept = page.evaluate(KEPT)
    assert sorted(kept) == sorted([f"pass 1 /p/{omar}", f"pass 1 /p/{nora}"])
    for token, other in ((omar, nora), (nora, omar)):
        paths = kept[f"pass 1 /p/{token}"]
        assert f"/p/{token}" in paths and f"/p/{token}/qr.svg" in paths
        assert all(path.startswith((f"/p/{token}", "/static/")) for path in paths), paths
        assert not any(other in path or path.endswith("/brief") for path in paths), paths

    # The till and the staff pages are no pass's: no worker answers for them.
    for path in ("/merchant", "/login", "/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("async () => (await navigator.serviceWorker.getRegistration()) === undefined"), path
        assert page.evaluate("() => navigator.serviceWorker.controller === null"), path


def test_a_blocked_pass_loses_its_kept_copy_at_the_next_visit_online(live_server, launch_browser, db, settings):
    issued(db, settings)
    omar = token_of(db, settings, "K-2")
    page = opened(phone_page(launch_browser(camera=False)), f"{live_server.url}/p/{omar}")
    with db.transaction() as s:
        block_pass(s, pass_of(s, "K-2").pass_number, reason="kwijt")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deze pas is geblokkeerd")
    # The worker drops the copy and itself once the refusal is in (after the page has it).
    gone = False
    for _ in range(100):
        gone = page.evaluate(KEPT) == {} and page.evaluate(SCOPES) == []
        if gone:
            break
        page.wait_for_timeout(100)
    assert gone, (page.evaluate(KEPT), page.evaluate(SCOPES))
    page.context.set_offline(True)
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.reload()

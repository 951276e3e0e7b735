"""The merchant's till end to end: the real app, the real login, a real pass.

Nothing here is faked except the camera (Chromium's fake camera shows a video
made from the pass's own stored QR image) and the receipt number's dice (so
the screenshots in docs/screenshots/ do not change from run to run). The
page talks to the real ``/api/v1`` on the test's database, and every test
ends by reading the ledger itself.
"""
from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from pasdienst import ledger
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.redeem.models import Redemption
from pasdienst.wallet import qr
from pasdienst.wallet.models import PassImage, Voucher
from pasdienst.wallet.services import resolve_pass
from pasdienst.web.app import create_app
from tests.factories import TODAY, MadeUser, World, issued_world, make_user
from tests.redeem.test_wrong_codes import unknown_typed_code

from .helpers import PHONE, phone_page, qr_video, screenshot

pytestmark = pytest.mark.browser

SPORT_BUDGET = 15_000  # cents: the scheme's sport_culture budget
#: 14:05 in Amsterdam on the test's "today": the receipt's time in the screenshots.
FIXED_TIME = datetime(2027, 3, 15, 13, 5, tzinfo=timezone.utc)


@dataclass(kw_only=True)
class LiveWorld(World):
    """``issued_world`` behind the live server, with Sanne's pass and a sports club's merchant user."""

    base: str
    payload: str  # the QR payload of Sanne's pass
    code: str  # her typed code
    pass_id: int
    sport_voucher: int
    sport_account: int
    merchant: MadeUser


@pytest.fixture
def live_app(settings, db):
    """The real app, with the test world's "today"."""
    return create_app(replace(settings, today=TODAY), db=db)


@pytest.fixture
def world(db: Database, live_server, receipt_numbers) -> LiveWorld:
    from pasdienst.web.extensions import get_settings

    settings = get_settings(live_server.app)
    issued = issued_world(db, settings, sport=("Sportclub De Sprint", ("sport_culture",)))
    # The rendering phase that follows issuing (``pasdienst passes issue`` runs it too).
    qr.render_missing(db, settings, workers=1)
    user = make_user(db, "merchant", municipality="testdorp", merchant_id=issued.merchants["sport"])
    sanne = issued.rows["T-1"]
    with db.read() as s:
        pass_id = resolve_pass(s, sanne.url, settings=settings, today=TODAY).id
        voucher_id = issued.vouchers[pass_id][("budget", "sport_culture")]
        account_id = s.get(Voucher, voucher_id).account_id
    return LiveWorld(
        **vars(issued), base=live_server.url, payload=sanne.url, code=sanne.code, pass_id=pass_id,
        sport_voucher=voucher_id, sport_account=account_id, merchant=user,
    )


# -- helpers -----------------------------------------------------------------------

def stored_qr_png(db: Database, world: LiveWorld) -> bytes:
    """The pass's QR image as the holder's page serves it (and as it is stored)."""
    token = world.payload.rsplit("/", 1)[1]
    with urllib.request.urlopen(f"{world.base}/p/{token}/qr.png") as response:  # our own live server
        served = response.read()
    with db.read() as s:
        assert s.get(PassImage, world.pass_id).png == served
    return served


def log_in(page: Page, world: LiveWorld) -> None:
    """Open the till as a cashier would: sent to /login, then back to /merchant."""
    page.goto(f"{world.base}/merchant")
    expect(page.get_by_role("heading", name="Inloggen")).to_be_visible()
    page.get_by_label("E-mailadres").fill(world.merchant.email)
    page.get_by_label("Wachtwoord").fill(world.merchant.password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{world.base}/merchant")
    expect(page.locator("#scan-app")).to_have_attribute("data-ready", "1")
    expect(page.locator(".merchant-name")).to_have_text("Sportclub De Sprint")


def type_code(page: Page, code: str) -> None:
    page.get_by_label("Of typ de code van de pas").fill(code)
    page.get_by_role("button", name="Code controleren").click()


def sport_budget(page: Page):
    return page.locator("form.voucher[data-kind=budget]").filter(has_text="Sport en cultuur")


def confirm_shows_sanne(page: Page, balance: str) -> None:
    expect(page.get_by_role("heading", name="Bevestigen")).to_be_visible(timeout=15_000)
    expect(page.locator("#holder-name")).to_have_text("Sanne")
    expect(page.locator("#holder-age")).to_have_text("11 jaar")
    # A sports club: the sport budget and the swimming card, nothing else.
    expect(page.locator("form.voucher")).to_have_count(2)
    expect(sport_budget(page).locator(".voucher-balance")).to_have_text(f"Tegoed {balance}")


def balance(db: Database, account_id: int) -> int:
    with db.read() as s:
        return ledger.balance(s, account_id)


def redemption_rows(db: Database) -> list[Redemption]:
    with db.read() as s:
        return list(s.execute(select(Redemption).order_by(Redemption.id)).scalars())


def ledger_is_sound(db: Database) -> None:
    with db.read() as s:
        report = verify(s)
    assert report.ok, [str(p) for p in report.problems]


def charge_12_50_and_void_it(page: Page, db: Database, world: LiveWorld, *, screenshots: bool) -> None:
    """From the confirm screen: pay 12,50, check the receipt, void it from today's list."""
    sport_budget(page).get_by_label("Bedrag in euro").fill("12,50")
    if screenshots:
        screenshot(page, "scan-confirm")
    sport_budget(page).get_by_role("button", name="Afrekenen").click()

    expect(page.get_by_role("heading", name="Betaald")).to_be_visible()
    (row,) = redemption_rows(db)
    assert (row.amount_cents, row.balance_after_cents, row.voucher_id) == (1250, 13_750, world.sport_voucher)
    expect(page.locator("#receipt-no")).to_have_text(row.receipt_no)
    expect(page.locator("#receipt-amount")).to_have_text("€ 12,50")
    expect(page.locator("#receipt-left")).to_have_text("€ 137,50")
    assert balance(db, world.sport_account) == SPORT_BUDGET - 1250
    if screenshots:
        expect(page.locator("#receipt-time")).to_have_text("14:05")
        screenshot(page, "scan-receipt")

    page.get_by_role("button", name="Vandaag").click()
    expect(page.get_by_role("heading", name="Vandaag")).to_be_visible()
    expect(page.locator("#today-total")).to_have_text("€ 12,50")
    item = page.locator(".today-item")
    expect(item).to_have_count(1)
    expect(item.locator(".today-receipt")).to_have_text(f"Bon {row.receipt_no}")
    void = item.get_by_role("button", name=f"Bon {row.receipt_no} annuleren")
    void.click()
    void.click()  # the second tap confirms

    expect(page.locator("#today-total")).to_have_text("€ 0,00")
    expect(item.locator(".today-state")).to_have_text("Geannuleerd")
    (row,) = redemption_rows(db)
    assert row.voided_at is not None and row.void_transfer_id is not None
    assert balance(db, world.sport_account) == SPORT_BUDGET


# -- the till, end to end ----------------------------------------------------------

def test_a_merchant_scans_a_real_pass_with_the_camera_charges_12_50_and_voids_it(
    db, world, launch_browser, tmp_path: Path
):
    video = qr_video(stored_qr_png(db, world), tmp_path / "pass.y4m")
    page = phone_page(launch_browser(video))
    page.clock.set_fixed_time(FIXED_TIME)
    log_in(page, world)

    confirm_shows_sanne(page, "€ 150,00")  # the camera read the pass on its own
    charge_12_50_and_void_it(page, db, world, screenshots=True)

    # Back at the camera, the same pass shows its whole budget again.
    page.get_by_role("button", name="Terug naar scannen").click()
    confirm_shows_sanne(page, "€ 150,00")
    ledger_is_sound(db)


def test_a_merchant_types_the_code_of_a_real_pass_charges_12_50_and_voids_it(db, world, launch_browser):
    page = phone_page(launch_browser(camera=False))  # no camera at all: the typed code is the way
    log_in(page, world)
    expect(page.get_by_label("Of typ de code van de pas")).to_be_focused()

    type_code(page, world.code.lower().replace("-", " "))  # as a cashier might type it
    confirm_shows_sanne(page, "€ 150,00")
    charge_12_50_and_void_it(page, db, world, screenshots=False)

    page.get_by_role("button", name="Terug naar scannen").click()
    type_code(page, world.code)
    confirm_shows_sanne(page, "€ 150,00")
    ledger_is_sound(db)


def test_a_connection_lost_during_confirm_is_retried_with_the_same_key_and_charges_once(
    db, world, launch_browser
):
    page = phone_page(launch_browser(camera=False))
    log_in(page, world)
    type_code(page, world.code)
    confirm_shows_sanne(page, "€ 150,00")

    keys: list[str] = []
    lose_answers = True

    def flaky_network(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if not lose_answers:
            route.continue_()
            return
        route.fetch()  # the server charges ...
        route.abort("connectionreset")  # ... but the phone never hears back

    page.route("**/api/v1/redemptions", flaky_network)
    sport_budget(page).get_by_label("Bedrag in euro").fill("12,50")
    sport_budget(page).get_by_role("button", name="Afrekenen").click()

    expect(page.get_by_role("heading", name="Betaling controleren")).to_be_visible()
    unknown = page.locator("#pending-unknown")
    expect(unknown).to_be_visible()
    expect(unknown).to_contain_text("Onbekend of de betaling gelukt is. Reken niet opnieuw af")
    expect(page.locator("#pending-amount")).to_have_text("€ 12,50")
    assert len(redemption_rows(db)) == 1  # the first attempt did reach the server

    lose_answers = False
    page.get_by_role("button", name="Opnieuw proberen").click()

    (row,) = redemption_rows(db)
    expect(page.locator("#receipt-no")).to_have_text(row.receipt_no, timeout=15_000)
    expect(page.locator("#receipt-left")).to_have_text("€ 137,50")
    assert len(keys) >= 2 and set(keys) == {row.idempotency_key}
    assert balance(db, world.sport_account) == SPORT_BUDGET - 1250
    ledger_is_sound(db)


def test_a_till_locked_out_of_typing_says_how_long_and_still_scans_the_qr(db, world, launch_browser, tmp_path: Path):
    """Ten wrong codes on this till: typing stops here (a colleague's till
    would go on), the page says for how long, and the same login scans the QR."""
    typing = phone_page(launch_browser(camera=False))
    log_in(typing, world)
    for n in range(10):
        type_code(typing, unknown_typed_code(n))
        expect(typing.locator("#code-error")).to_have_text("Deze code is ongeldig.")
        typing.get_by_label("Of typ de code van de pas").fill("")  # the next try shows its own answer
    type_code(typing, world.code)
    expect(typing.locator("#code-error")).to_have_text(
        re.compile(r"^Op deze kassa is te vaak een verkeerde code getypt\. Over (9|10) minuten kan het weer\. "
                   r"Een QR-code scannen kan gewoon\.$")
    )
    assert typing.evaluate("() => document.documentElement.scrollWidth") == 360

    # The same login (its cookies) on a phone whose camera sees the pass.
    video = qr_video(stored_qr_png(db, world), tmp_path / "pass.y4m")
    scanning = launch_browser(video).new_context(**PHONE, storage_state=typing.context.storage_state()).new_page()
    scanning.goto(f"{world.base}/merchant")
    confirm_shows_sanne(scanning, "€ 150,00")

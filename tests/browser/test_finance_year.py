"""Finance settles the demo's history from the web, with four eyes, and every
page on the way passes axe-core.

``pasdienst demo`` leaves last month settled and paid and this month's
payments waiting. One finance user makes today's batch, the other approves
it, the first makes and downloads the SEPA file and reports it paid; the
shop then finds its statement. The ledger balances afterwards.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from pasdienst.access.demo import DEMO_MERCHANTS, DEMO_STAFF
from pasdienst.demo import load_demo
from pasdienst.ledger import verify
from pasdienst.settlement.models import SettlementBatch
from pasdienst.web.app import create_app

from .helpers import serving
from .test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TODAY = date(2027, 3, 10)
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "nl-NL", "accept_downloads": True}
FINANCE = [(email, password) for email, role, password in DEMO_STAFF if role == "finance"]
SHOP = next((email, password, name) for name, _c, _b, _a, email, password in DEMO_MERCHANTS)


def _log_in(page: Page, base: str, email: str, password: str, target: str) -> None:
    # Leave the last page first: a request of it still under way (its favicon) could
    # otherwise bring the old session's cookie back after it is cleared.
    page.goto("about:blank")
    page.context.clear_cookies()
    page.goto(f"{base}/login?next={target}")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}{target}")


def _checked(page: Page, what: str) -> None:
    """No serious axe-core finding, and nothing wider than the window."""
    assert serious_violations(page) == [], what
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280, what


def test_finance_settles_this_months_payments_of_the_demo_from_the_web(db, settings, launch_browser, tmp_path: Path):
    demo_settings = replace(settings, today=TODAY)
    load_demo(db, demo_settings, TODAY)
    browser = launch_browser(camera=False)
    with serving(create_app(demo_settings, db=db)) as base:
        page = browser.new_context(**DESKTOP, bypass_csp=True).new_page()
        (maker, maker_password), (checker, checker_password) = FINANCE

        _log_in(page, base, maker, maker_password, "/finance")
        expect(page.get_by_role("heading", level=1)).to_have_text("Afrekeningen met aanbieders")
        _checked(page, "/finance")
        page.get_by_label("Alle betalingen vóór").fill(TODAY.isoformat())
        page.get_by_role("button", name="Afrekening maken").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Concept")
        _checked(page, "a draft batch")
        batch_url = page.url

        _log_in(page, base, checker, checker_password, "/finance")  # four eyes: the other one approves
        page.goto(batch_url)
        page.get_by_role("button", name="Goedkeuren").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Goedgekeurd")

        _log_in(page, base, maker, maker_password, "/finance")
        page.goto(batch_url)
        page.get_by_role("button", name="Betaalbestand maken").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="Betaalbestand downloaden").first.click()
        assert b"<CstmrCdtTrfInitn>" in Path(download.value.path()).read_bytes()
        _checked(page, "an exported batch")
        page.get_by_role("button", name="Betaald melden").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Betaald")
        page.get_by_role("link", name="Afrekening").first.click()
        _checked(page, "a merchant's statement")

        shop_email, shop_password, shop_name = SHOP
        _log_in(page, base, shop_email, shop_password, "/merchant/uitbetalingen")
        _checked(page, "/merchant/uitbetalingen")
        expect(page.get_by_text("Betaald op").first).to_be_visible()
        page.get_by_role("link", name="bekijken en printen").first.click()
        _checked(page, "the shop's statement")

        page.goto(f"{base}/account/wachtwoord")
        _checked(page, "/account/wachtwoord")

    with db.read() as s:
        batches = s.execute(select(SettlementBatch).order_by(SettlementBatch.id)).scalars().all()
        assert [b.status for b in batches] == ["paid", "paid"]
        assert batches[1].created_by_user_id != batches[1].approved_by_user_id
        assert verify(s).ok

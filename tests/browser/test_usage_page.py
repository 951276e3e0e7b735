"""The usage page in Chromium: an admin logs in and sees the charts; no CSP violation, nothing
serious for axe-core; the screenshot lands in docs/screenshots/usage.png."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from playwright.sync_api import expect

from pasdienst.ledger import verify
from tests.factories import TEST_PASSWORD, make_user
from tests.reports.world import CODE, build_busy_world

from .helpers import screenshot
from .test_accessibility import DESKTOP, serious_violations

pytestmark = pytest.mark.browser

CHARTS = ("Gebruik per categorie", "Gebruik per leeftijd", "Betalingen per maand",
          "Geld: toegekend, besteed, vervallen", "Besteding per aanbieder", "Betalingen per week",
          "Bereik door het jaar", "Gebruik per postcodegebied")


@pytest.fixture
def live_app(settings, db):
    from pasdienst.web.app import create_app

    return create_app(replace(settings, today=date(2027, 12, 20)), db=db)


@pytest.fixture
def admin(db, settings):
    assert build_busy_world(db, settings) == 1500
    with db.read() as s:
        assert verify(s).ok, "the bulk redemptions must keep the ledger balanced"
    return make_user(db, "admin", municipality=CODE, email="beheer@testdorp.example")


def open_usage(page, base, user):
    page.goto(f"{base}/login?next=/admin/gebruik")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Gebruik van het kindpakket 2027")).to_be_visible()
    return page


def test_an_admin_sees_the_usage_charts_of_this_year(live_server, launch_browser, admin):
    context = launch_browser(camera=False).new_context(viewport={"width": 1100, "height": 900}, locale="nl-NL",
                                                        timezone_id="Europe/Amsterdam")
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    open_usage(page, live_server.url, admin)
    for name in CHARTS:
        expect(page.get_by_role("img", name=name)).to_be_visible()
    expect(page.locator(".usage-bands li.current")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Beheer").get_by_role("link", name="Gebruik", exact=True)).to_have_attribute("aria-current", "page")
    box = page.locator("#chart-month").bounding_box()
    assert box is not None and box["width"] > 600  # drawn at full width, not collapsed
    screenshot(page, "usage")
    assert blocked == []


def test_the_usage_page_has_no_serious_accessibility_problems(live_server, launch_browser, admin):
    page = launch_browser(camera=False).new_context(**DESKTOP, bypass_csp=True).new_page()
    open_usage(page, live_server.url, admin)
    problems = serious_violations(page)
    assert problems == [], "/admin/gebruik:\n  " + "\n  ".join(problems)
    page.goto(f"{live_server.url}/admin/gebruik/publicatie")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems = serious_violations(page)
    assert problems == [], "/admin/gebruik/publicatie:\n  " + "\n  ".join(problems)

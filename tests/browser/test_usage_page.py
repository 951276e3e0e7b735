"""The usage page in Chromium: an admin logs in, sees the charts, and the screenshot lands in docs/."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from playwright.sync_api import expect

from pasdienst.ledger.verify import verify
from tests.access.helpers import TEST_PASSWORD, make_user
from tests.reports.world import CODE, build_busy_world

from .helpers import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(settings, db):  # noqa: ANN001, ANN201
    from pasdienst.web.app import create_app

    return create_app(replace(settings, today=date(2027, 12, 20)), db=db)


def test_an_admin_sees_the_usage_charts_of_this_year(live_server, browser, db, settings):
    made = build_busy_world(db, settings)
    assert made == 1500
    with db.read() as s:
        assert verify(s).ok, "the bulk redemptions must keep the ledger balanced"
    user = make_user(db, "admin", municipality=CODE, email="beheer@testdorp.example")
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="nl-NL", timezone_id="Europe/Amsterdam")
    page = context.new_page()
    page.goto(f"{live_server.url}/login?next=/admin/gebruik")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()

    expect(page.get_by_role("heading", name="Gebruik van het kindpakket 2027")).to_be_visible()
    for name in ("Gebruik per categorie", "Gebruik per leeftijd", "Betalingen per maand",
                 "Geld: toegekend, besteed, vervallen", "Besteding per aanbieder"):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    expect(page.locator(".usage-bands li.current")).to_have_count(1)
    box = page.locator("#chart-month").bounding_box()
    assert box is not None and box["width"] > 600  # drawn at full width, not collapsed
    screenshot(page, "usage")
    context.close()

"""A case worker awards maatwerk on a 360 px phone: the form, the outcome and the award fit the screen.

The settlement tests' world with a gebiedsteam and a fund (tests/maatwerk/conftest.py).
"""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from playwright.sync_api import expect

from pasdienst.web.app import create_app
from tests.maatwerk.conftest import maat, world, world_settings  # noqa: F401 - fixtures

from .helpers import phone_page
from .test_merchant_pages import fits, log_in, speaks_u

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(world_settings, db):  # noqa: F811 - the fixture imported above
    return create_app(replace(world_settings), db=db)


def test_a_caseworker_awards_the_football_clubs_membership_on_a_phone(live_server, launch_browser, maat):  # noqa: F811 - the fixture imported above
    page = phone_page(launch_browser(camera=False))
    log_in(page, live_server.url, maat.caseworker, "/admin/maatwerk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Maatwerk")
    fits(page)
    page.get_by_label("Klantnummer van het kind").fill("T-1")
    page.get_by_label("Waarvoor").select_option(label="Sport en cultuur")
    page.get_by_label("Alleen bij deze aanbieder (optioneel)").select_option(label="Sportclub De Sprint")
    page.get_by_label("Bedrag in euro").fill("225")
    page.get_by_label("Reden").select_option(label="Contributie")
    page.get_by_label(re.compile("Toelichting")).fill("contributie voetbalclub")
    page.get_by_role("button", name="Toekennen").click()
    expect(page.get_by_text(re.compile("225,00 voor sport en cultuur bij Sportclub De Sprint toegekend"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"M-\d+: €\s225,00"))).to_be_visible()
    expect(page.get_by_text(re.compile("over van"))).to_contain_text("775,00")
    fits(page)
    speaks_u(page)

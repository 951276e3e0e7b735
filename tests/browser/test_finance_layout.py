"""/finance in Chromium at 1280 px: the month's batch from approval to paid, and no table wider than the page.

"Betaalbestand maken" leads to the batch's next step (a download cannot redirect: the page that follows
offers the file and "Betaald melden"); every finance table shows its last column without scrolling.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from pasdienst.merchants.models import Merchant
from pasdienst.settlement.sepa import parse_summary, validate_pain001
from pasdienst.web.app import create_app
from tests.factories import TEST_PASSWORD, make_user
from tests.settlement import conftest as sw
from tests.settlement.conftest import world, world_settings  # noqa: F401 - fixtures

from .test_accessibility import DESKTOP, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.money]

#: Names as long as real ones get: a foundation's full name, a long e-mail address.
LONG_NAME = "Stichting Sportvereniging De Snelle Sprinters Opsterland-Oost"
LONG_EMAIL = "financien.medewerker.afrekeningen@gemeente-opsterland.example"


@pytest.fixture
def live_app(world):  # noqa: F811 - the fixture imported above
    return create_app(world.settings, db=world.db)


def _log_in(page: Page, base: str, email: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}{target}")


#: Per table: does its box (or its scroll wrapper) need scrolling, and does its last column end inside the page?
_MEASURE = """() => ({
  page: [document.documentElement.scrollWidth, window.innerWidth],
  tables: [...document.querySelectorAll("table")].map(table => {
    const wrap = table.closest(".table-scroll, .table-wrap") || table.parentElement;
    const cells = table.querySelectorAll("tr > :last-child");
    const right = Math.max(...[...cells].map(c => c.getBoundingClientRect().right));
    return {caption: (table.caption && table.caption.textContent.trim()) || table.className,
            scroll: wrap.scrollWidth, client: wrap.clientWidth, right, edge: wrap.getBoundingClientRect().right};
  }),
})"""


def overflowing(page: Page) -> list[str]:
    found = page.evaluate(_MEASURE)
    problems = []
    if found["page"][0] > found["page"][1]:
        problems.append(f"the page is {found['page'][0]} px wide in a {found['page'][1]} px window")
    for t in found["tables"]:
        if t["scroll"] > t["client"] + 1 or t["right"] > t["edge"] + 1:
            problems.append(f"table {t['caption']!r}: {t['scroll']} px in {t['client']} px, last column ends at {t['right']:.0f} of {t['edge']:.0f}")
    assert found["tables"], "no table measured"
    return problems


def test_finance_makes_the_payment_file_and_the_page_moves_on_to_the_next_step(live_server, launch_browser, world, tmp_path):  # noqa: F811 - the fixture imported above
    sw.a_month(world)
    with world.db.transaction() as s:
        s.execute(update(Merchant).where(Merchant.id == world.merchants["sport"]).values(name=LONG_NAME))
    maker = make_user(world.db, "finance", email=LONG_EMAIL)
    batch = sw.create(world, by=maker)
    sw.approve(world, batch.id)
    base = live_server.url
    page = launch_browser(camera=False).new_context(**DESKTOP, accept_downloads=True, bypass_csp=True).new_page()
    _log_in(page, base, world.finance.email, f"/finance/afrekeningen/{batch.id}")
    assert overflowing(page) == []
    page.get_by_role("button", name="Betaalbestand maken").click()

    page.wait_for_url(f"{base}/finance/afrekeningen/{batch.id}#volgende-stap")
    expect(page.get_by_role("status")).to_contain_text(f"Het betaalbestand van afrekening B{batch.id} is gemaakt")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Betaalbestand gemaakt")
    step = page.locator("section", has=page.get_by_role("heading", name="Volgende stap"))
    expect(step.get_by_role("button", name="Betaald melden")).to_be_visible()
    with page.expect_download() as download:
        step.get_by_role("link", name="Betaalbestand downloaden").click()
    assert download.value.suggested_filename == f"afrekening-B{batch.id}-sepa.xml"
    xml = (tmp_path / "sepa.xml")
    download.value.save_as(xml)
    validate_pain001(xml.read_bytes(), "pain.001.001.09")
    assert parse_summary(xml.read_bytes())["ctrl_sum_cents"] == batch.total_cents
    assert overflowing(page) == []
    assert serious_violations(page) == []

    step.get_by_role("button", name="Betaald melden").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Betaald")
    for path in ("/finance", f"/finance/afrekeningen/{batch.id}", f"/finance/afrekeningen/{batch.id}/aanbieder/{world.merchants['sport']}"):
        page.goto(base + path)
        assert overflowing(page) == [], path

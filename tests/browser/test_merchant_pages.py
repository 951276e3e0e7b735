"""Every page a merchant uses, on a 360 px phone: the payouts and a statement
fit without sideways scrolling, every page speaks to the merchant as "u",
and every page has a favicon.

The settlement tests' world (tests/settlement/conftest.py): a sports club
with payments of March, settled, approved, exported and paid.
"""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect

from pasdienst.web.app import create_app
from tests.factories import MadeUser, make_user
from tests.settlement.conftest import a_month, approve, at, create, export, pay, world, world_settings  # noqa: F401 - fixtures this module's tests take

from .helpers import phone_page, screenshot

pytestmark = pytest.mark.browser

#: The informal "you": the merchant's pages say "u" (and "uw") only.
INFORMAL = re.compile(r"\b(je|jij|jou|jouw|jullie)\b", re.IGNORECASE)


@pytest.fixture
def live_app(world_settings, db):  # noqa: F811 - the fixture imported above
    return create_app(replace(world_settings), db=db)


@pytest.fixture
def settled(world, live_server, fixed_clock, receipt_numbers):  # noqa: F811 - the fixture imported above
    """March settled and paid (on the fixed clock's 15 March 2027, so the
    screenshots stay the same), one payment of today still waiting; the sports club's login."""
    a_month(world)
    for n in range(12):  # a statement with more than a screenful of lines
        world.redeem("sport", 100 + n, at(4 + n % 9, 10, n))
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    pay(world, batch.id)
    world.redeem("sport", 500, at(15, 9))
    user = make_user(world.db, "merchant", merchant_id=world.merchants["sport"], email="kassa@desprint.example")
    return batch.id, user


def log_in(page: Page, base: str, user: MadeUser, target: str = "/merchant") -> None:
    page.goto(f"{base}/login?next={target}")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(user.password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}{target}")


def fits(page: Page) -> None:
    """Nothing on the page is wider than the phone, and nothing scrolls sideways inside it
    (text only for screen readers, clipped to a pixel, aside)."""
    widths = page.evaluate(
        """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
                  ...[...document.querySelectorAll("*")].filter(e => e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1
                      && getComputedStyle(e).overflowX !== "visible").map(e => e.tagName + "." + e.className)]"""
    )
    assert widths == [360, 360], f"{page.url}: {widths}"


def speaks_u(page: Page) -> None:
    text = page.locator("body").inner_text()
    assert INFORMAL.search(text) is None, f"{page.url}: {INFORMAL.search(text)!r} in {text!r}"


def has_favicon(page: Page) -> None:
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href and href.startswith("/static/favicon.svg"), page.url
    icon = page.request.get(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + href)
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_the_payouts_page_and_a_statement_fit_a_360_px_phone(live_server, launch_browser, settled):
    batch_id, user = settled
    page = phone_page(launch_browser(camera=False))
    log_in(page, live_server.url, user, "/merchant/uitbetalingen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Uitbetalingen")
    expect(page.get_by_role("heading", name=f"Afrekening B{batch_id}")).to_be_visible()
    expect(page.get_by_text(re.compile("Betaald op"))).to_be_visible()
    fits(page)
    screenshot(page, "merchant-payouts")

    page.get_by_role("link", name=re.compile(f"B{batch_id}")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Afrekening kindpakket")
    expect(page.get_by_role("row")).to_have_count(1 + 14 + 1)  # head, the 14 payments, total
    fits(page)
    screenshot(page, "merchant-statement")


def test_every_merchant_page_says_u_and_has_a_favicon(live_server, launch_browser, settled):
    batch_id, user = settled
    base = live_server.url
    page = phone_page(launch_browser(camera=False))
    fresh = make_user(page_db(live_server), "merchant", merchant_id=user_merchant(live_server, user))
    for path in ("/login", "/merchant/signup"):
        page.goto(base + path)
        speaks_u(page)
        has_favicon(page)
    # A new login's first page: choose a password.
    page.goto(f"{base}/login?next=/merchant")
    page.get_by_label("E-mailadres").fill(fresh.email)
    page.get_by_label("Wachtwoord").fill(fresh.password)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    speaks_u(page)
    has_favicon(page)
    page.goto("about:blank")  # nothing of the last page may bring its cookie back once cleared
    page.context.clear_cookies()

    log_in(page, base, user)
    for path in ("/merchant", "/merchant/uitbetalingen", f"/merchant/uitbetalingen/{batch_id}", "/admin"):
        page.goto(base + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        speaks_u(page)
        has_favicon(page)
    page.goto(base + "/merchant")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    speaks_u(page)  # "U bent uitgelogd."


def page_db(live_server):
    from pasdienst.web.extensions import get_db

    return get_db(live_server.app)


def user_merchant(live_server, user: MadeUser) -> int:
    from pasdienst.access.models import User

    with page_db(live_server).read() as s:
        return s.get(User, user.id).merchant_id

"""An unresolved payment on the till belongs to the login that made it.

Two merchants share one phone. Merchant A charges a child, the answer is
lost on the way back (the server did charge), and the till keeps the payment
to settle it later with the same Idempotency-Key. Sent under merchant B's
login, that key is new to B: the child would be charged a second time and
both merchants paid. These tests run the real app on SQLite and PostgreSQL
and read the ledger itself.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import select

from pasdienst import ledger
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.redeem.models import Redemption
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.services import resolve_pass
from pasdienst.web.app import create_app
from tests.factories import TODAY, issue_world, MadeUser, make_merchant, make_user

from .helpers import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.money]

SPORT_BUDGET = 15_000
PENDING_KEY = "pasdienst.merchant.pendingRedemption"


@dataclass
class Shop:
    base: str
    code: str  # Sanne's typed code
    sport_account: int
    a: MadeUser  # Sportclub De Sprint
    b: MadeUser  # Zwembad De Golf


@pytest.fixture
def live_app(settings, db):
    return create_app(replace(settings, today=TODAY), db=db)


@pytest.fixture
def shop(db: Database, live_server) -> Shop:
    from pasdienst.web.extensions import get_settings

    settings = get_settings(live_server.app)
    rows, vouchers = issue_world(db, settings)
    sanne = rows["T-1"]
    with db.read() as s:
        pass_id = resolve_pass(s, sanne.url, settings=settings, today=TODAY).id
        account = s.get(Voucher, vouchers[pass_id][("budget", "sport_culture")]).account_id
    a = make_merchant(db, "testdorp", name="Sportclub De Sprint", categories=("sport_culture",))
    b = make_merchant(db, "testdorp", name="Zwembad De Golf", categories=("sport_culture",))
    return Shop(
        live_server.url, sanne.code, account,
        make_user(db, "merchant", municipality="testdorp", merchant_id=a),
        make_user(db, "merchant", municipality="testdorp", merchant_id=b),
    )


@pytest.fixture
def phone(browser) -> BrowserContext:
    context = browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def log_in(page: Page, shop: Shop, user: MadeUser) -> None:
    page.goto(f"{shop.base}/merchant")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(user.password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{shop.base}/merchant")
    expect(page.locator("#scan-app")).to_have_attribute("data-ready", "1")


class LostAnswers:
    """The till's network: the first payment reaches the server and its answer
    is lost; later attempts fail until ``through`` is set."""

    def __init__(self) -> None:
        self.reached = 0
        self.through = False

    def __call__(self, route: Route) -> None:
        if self.through:
            route.continue_()
            return
        if not self.reached:
            route.fetch()
            self.reached += 1
        route.abort("internetdisconnected")


def charge_and_lose_the_answer(page: Page, shop: Shop) -> LostAnswers:
    """Merchant A charges € 12,50; the server charges, the phone never hears back."""
    page.get_by_label("Of typ de code van de pas").fill(shop.code)
    page.get_by_role("button", name="Code controleren").click()
    expect(page.locator("#holder-name")).to_have_text("Sanne")
    network = LostAnswers()
    page.route("**/api/v1/redemptions", network)
    form = page.locator("form.voucher[data-kind=budget]").filter(has_text="Sport en cultuur")
    form.get_by_label("Bedrag in euro").fill("12,50")
    form.get_by_role("button", name="Afrekenen").click()
    unknown = page.locator("#pending-unknown")
    expect(unknown).to_be_visible()
    expect(unknown).to_contain_text("Onbekend of de betaling gelukt is")
    assert network.reached == 1
    return network


def stored_entries(context: BrowserContext) -> list[str]:
    return [
        item["value"]
        for origin in context.storage_state()["origins"]
        for item in origin["localStorage"]
        if item["name"] == PENDING_KEY
    ]


def redemption_posts(page: Page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/redemptions") else None)
    return posts


def charged_once_by_a(db: Database, shop: Shop) -> None:
    with db.read() as s:
        rows = list(s.execute(select(Redemption)).scalars())
        balance = ledger.balance(s, shop.sport_account)
        report = verify(s)
    assert [(r.merchant_id, r.amount_cents) for r in rows] == [(shop.a.merchant_id, 1250)]
    assert balance == SPORT_BUDGET - 1250
    assert report.ok, [str(p) for p in report.problems]


def test_a_payment_left_by_another_login_is_never_sent_and_the_cashier_is_told(db, shop, browser, phone):
    page = phone.new_page()
    log_in(page, shop, shop.a)
    charge_and_lose_the_answer(page, shop)
    kept = phone.storage_state()
    assert shop.code in stored_entries(phone)[0]  # kept to settle it with the same key
    phone.close()

    # The same phone later: A's session ended without a logout (it expired),
    # what the till kept in the browser is still there.
    phone = browser.new_context(**PHONE, storage_state={"cookies": [], "origins": kept["origins"]})
    phone.set_default_timeout(15_000)
    page = phone.new_page()  # every request of this page reaches the server
    posts = redemption_posts(page)
    log_in(page, shop, shop.b)

    expect(page.get_by_role("alert")).to_contain_text("niet verstuurd met uw inlog en niet opnieuw afgerekend")
    expect(page.get_by_role("heading", name="Pas scannen")).to_be_visible()  # B can serve the next customer
    assert stored_entries(phone) == []  # nor is A's pass code kept any longer
    page.reload()
    expect(page.locator("#scan-app")).to_have_attribute("data-ready", "1")
    expect(page.get_by_role("alert")).to_be_hidden()  # told once
    assert posts == []
    charged_once_by_a(db, shop)


def test_logging_out_clears_the_unresolved_payment(db, shop, phone):
    page = phone.new_page()
    log_in(page, shop, shop.a)
    charge_and_lose_the_answer(page, shop)

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("heading", name="Inloggen")).to_be_visible()
    assert stored_entries(phone) == []

    page.unroute("**/api/v1/redemptions")
    posts = redemption_posts(page)
    log_in(page, shop, shop.b)
    expect(page.get_by_role("heading", name="Pas scannen")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()
    assert posts == []
    charged_once_by_a(db, shop)


def test_an_open_till_of_a_previous_login_cannot_send_under_the_new_one(db, shop, phone):
    page = phone.new_page()
    log_in(page, shop, shop.a)
    network = charge_and_lose_the_answer(page, shop)

    # A's session ends (it expired) and B logs in in a second tab to look at
    # the payouts, while A's tab is still open and keeps retrying.
    phone.clear_cookies()
    other = phone.new_page()
    other.goto(f"{shop.base}/login?next=/merchant/uitbetalingen")
    other.get_by_label("E-mailadres").fill(shop.b.email)
    other.get_by_label("Wachtwoord").fill(shop.b.password)
    other.get_by_role("button", name="Inloggen").click()
    other.wait_for_url(f"{shop.base}/merchant/uitbetalingen")
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/redemptions") else None)
    network.through = True
    retry = page.get_by_role("button", name="Opnieuw proberen")
    retry.click()

    # The session is B's and A's page holds A's CSRF token: refused before
    # anything is charged. Reloaded, the page is B's, and drops A's payment.
    told = page.get_by_role("alert").filter(has_text="niet verstuurd met uw inlog")
    expect(page.locator("#pending-retry[data-reload]").or_(told)).to_be_visible()
    if retry.is_visible():
        retry.click()
    expect(told).to_be_visible()
    assert statuses and set(statuses) == {403}
    assert stored_entries(phone) == []
    charged_once_by_a(db, shop)

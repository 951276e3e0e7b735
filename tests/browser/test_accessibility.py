"""Accessibility: axe-core finds nothing serious or critical on the pages people use, and the
login form works with the keyboard alone. Also the back office's screenshots.

axe-core is vendored for the tests only (``vendor/axe-core``, see its VERSIONS.txt) and injected
with Playwright. The pages' strict CSP would block an injected script, so only the contexts that
run axe bypass it; the screenshots and the keyboard test run under the real CSP, and a CSP
violation reported in the console fails them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from pasdienst.access.accounts import actor_for_email
from pasdienst.foureyes import requests
from pasdienst.clock import AMSTERDAM
from pasdienst.cooperations import services as cooperations
from pasdienst.jobs.services import start_job
from pasdienst.municipalities.models import Municipality
from pasdienst.merchants.models import Merchant
from pasdienst.reminders import optout
from pasdienst.wallet import qr
from pasdienst.wallet.models import ChildPass
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import load_scheme
from pasdienst.web.app import create_app
from tests.factories import TODAY, bearer, issue_world, MadeUser, make_merchant, make_municipality, make_token, make_user

from .helpers import screenshot
from .test_merchant_pages import settled  # noqa: F401 - fixtures this module's tests take
from tests.settlement.conftest import world, world_settings  # noqa: F401 - fixtures this module's tests take

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: WCAG 2.1 A and AA, which the Dutch accessibility decree asks for, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "locale": "nl-NL", "timezone_id": "Europe/Amsterdam"}
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
    "locale": "nl-NL", "timezone_id": "Europe/Amsterdam", "permissions": ["camera"],
}


@dataclass
class Site:
    base: str
    pass_path: str
    child_id: int
    admin: MadeUser
    merchant: MadeUser
    app: Any
    payload: str
    vouchers: dict
    unsubscribe_path: str


@pytest.fixture
def live_app(settings, db):
    return create_app(replace(settings, today=TODAY), db=db)


@pytest.fixture
def site(db, live_server, fixed_clock, receipt_numbers) -> Site:
    """Made at 09:00 on TODAY by the fixed clock: the screenshots show the same times on every run."""
    from pasdienst.web.extensions import get_settings

    settings = get_settings(live_server.app)
    rows, vouchers = issue_world(db, settings)
    qr.render_missing(db, settings, workers=1)
    merchant_id = make_merchant(db, "testdorp", name="Sportclub De Sprint", categories=("sport_culture",))
    make_merchant(db, "testdorp", name="Boekhandel Het Leesteken", categories=("school",), status="pending")
    merchant = make_user(db, "merchant", merchant_id=merchant_id, email="kassa@desprint.example")
    admin = make_user(db, "admin", email="beheer@testdorp.example")
    with db.read() as s:
        number = rows["T-1"].pass_id
        child_id = s.get(ChildPass, int(number.rsplit("-", 1)[1])).child_id
    return Site(
        live_server.url, rows["T-1"].url.replace("https://pas.example.nl", ""), child_id, admin, merchant,
        live_server.app, rows["T-1"].url, vouchers[int(number.rsplit("-", 1)[1])],
        "/afmelden/" + optout.opt_out_token(settings, municipality_id_of(db), "ouders@example.nl"),
    )


def municipality_id_of(db) -> int:
    with db.read() as s:
        return s.execute(select(Municipality.id).where(Municipality.code == "testdorp")).scalar_one()


def log_in(page: Page, site: Site, user: MadeUser, target: str) -> None:
    page.goto(f"{site.base}/login?next={target}")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(user.password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{site.base}{target}")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }""",
        AXE_TAGS,
    )
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in found if v["impact"] in BLOCKING]


def check(page: Page, what: str) -> None:
    problems = serious_violations(page)
    assert problems == [], f"{what} ({page.url}):\n  " + "\n  ".join(problems)


def test_the_public_pages_have_no_serious_accessibility_problems(launch_browser, site):
    browser = launch_browser(camera=False)
    phone = browser.new_context(**{**PHONE, "permissions": []}, bypass_csp=True)
    page = phone.new_page()
    for path, heading in (
        (site.pass_path, "Sanne"),
        (site.pass_path + "/brief", "De kinderpas van Sanne"),
        ("/", "Kindpakket"),
        ("/login", "Inloggen"),
        ("/merchant/signup", "Aanmelden als aanbieder"),
        ("/toegankelijkheid", "Toegankelijkheidsverklaring"),
        (site.unsubscribe_path, "Afmelden voor herinneringen"),
    ):
        page.goto(site.base + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        check(page, path)
    # The signup form with its error shown, as a shop sees it after a typo.
    page.goto(site.base + "/merchant/signup")
    page.get_by_label("Naam van de winkel, club of school").fill("Typo BV")
    page.get_by_label("KvK-nummer").fill("12345678")
    page.get_by_label("Adres", exact=True).fill("Dorpsstraat 1")
    page.get_by_label("School", exact=True).check()
    page.get_by_label("IBAN voor de uitbetaling").fill("NL91ABNA0417164301")
    page.get_by_label("E-mailadres").fill("info@typo.example")
    page.get_by_role("button", name="Aanmelding versturen").click()
    expect(page.locator("#form-error")).to_be_visible()
    check(page, "/merchant/signup with an error")


def test_the_pass_page_kept_for_a_phone_without_data_has_no_serious_accessibility_problems(launch_browser, site):
    browser = launch_browser(camera=False)
    phone = browser.new_context(**{**PHONE, "permissions": []}, bypass_csp=True)
    page = phone.new_page()
    page.goto(site.base + site.pass_path)
    expect(page.locator("html")).to_have_attribute("data-offline", "ready")  # the copy is kept
    phone.set_offline(True)
    page.reload()
    expect(page.locator(".pass-stored")).to_be_visible()
    check(page, f"{site.pass_path} without data")


def test_the_merchant_scan_page_has_no_serious_accessibility_problems(launch_browser, site):
    browser = launch_browser()
    page = browser.new_context(**PHONE, bypass_csp=True).new_page()
    log_in(page, site, site.merchant, "/merchant")
    expect(page.locator("#scan-app")).to_have_attribute("data-ready", "1")
    check(page, "/merchant")


def test_the_back_office_pages_have_no_serious_accessibility_problems(launch_browser, site, db):
    colleague = make_user(db, "admin", email="beheer2@testdorp.example")
    with db.transaction() as s:  # a request for the admin to confirm on /admin/verzoeken
        pending = s.execute(select(Merchant).where(Merchant.status == "pending")).scalar_one()
        requests.request_merchant_approval(s, actor_for_email(s, colleague.email), pending)
    with db.transaction() as s:  # next year's scheme: the award forms offer two years
        load_scheme(s, sample_scheme("testdorp", 2028))
    with db.transaction() as s:  # a cooperation led by testdorp, its merchant admitted, a municipality to invite
        cooperations.create_cooperation(s, "regio", name="Kindpakket De Regio", lead="testdorp")
        cooperations.admit_merchant(s, None, s.execute(select(Merchant.id).where(Merchant.status == "approved")).scalars().first())
    make_municipality(db, "anderdorp")
    with db.read() as s:
        pass_id = s.execute(select(ChildPass.id).where(ChildPass.child_id == site.child_id)).scalar_one()
    with db.transaction() as s:  # a job to show on /admin/taken (queued: no worker runs here)
        admin = actor_for_email(s, site.admin.email)
        job_id = start_job(s, admin, s.get(Municipality, admin.municipality_id), "issue_passes", {"year": 2028}).id
    browser = launch_browser(camera=False)
    page = browser.new_context(**DESKTOP, bypass_csp=True).new_page()
    log_in(page, site, site.admin, "/admin")
    for path in ("/admin", f"/admin/kinderen/{site.child_id}", "/admin/import", "/admin/kinderen?q=a",
                 "/admin/aanbieders", "/admin/budget", "/admin/gebruikers", "/admin/auditlog", "/admin/regeling",
                 "/admin/consulenten", "/admin/kinderen/aanmelden", "/admin/verzoeken",
                 f"/admin/passen/{pass_id}/vervangen", "/admin/brieven", "/admin/passen-uitgeven?jaar=2028",
                 "/admin/taken", f"/admin/taken/{job_id}", "/admin/kinderen",
                 "/admin/kinderen?pas=actief&leeftijd_van=99&leeftijd_tot=1", "/admin/jaarafsluiting",
                 "/admin/bereik?jaar=2027", "/admin/bereik?onder=abc", "/admin/herinneringen?jaar=2027",
                 "/admin/samenwerking", "/admin/maatwerk"):
        page.goto(site.base + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check(page, path)
    # The year end's preview and confirmation, as they show once the year is over.
    site.app.extensions["pasdienst.settings"] = replace(site.app.extensions["pasdienst.settings"], today=date(2028, 1, 2))
    page.goto(site.base + "/admin/jaarafsluiting")
    expect(page.get_by_label("Typ het jaartal 2027 om te bevestigen")).to_be_visible()
    check(page, "/admin/jaarafsluiting after the year")


def test_the_login_form_works_with_the_keyboard_alone(launch_browser, site):
    browser = launch_browser(camera=False)
    page = browser.new_context(**DESKTOP).new_page()
    page.goto(f"{site.base}/login?next=/admin")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Naar de inhoud")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mailadres")).to_be_focused()
    page.keyboard.type(site.admin.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Wachtwoord")).to_be_focused()
    page.keyboard.type(site.admin.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base}/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kindpakket Gemeente Testdorp")


def test_the_back_office_dashboard_and_child_page_screenshots(launch_browser, site, db, fixed_clock):
    browser = launch_browser(camera=False)
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    # One payment at the sports club, so the child page shows its history.
    voucher = site.vouchers[("budget", "sport_culture")]
    fixed_clock.set(datetime(2027, 3, 15, 14, 5, tzinfo=AMSTERDAM))
    paid = site.app.test_client().post(
        "/api/v1/redemptions", json={"code": site.payload, "voucher_id": voucher, "amount_cents": 3500},
        headers={**bearer(make_token(db, site.merchant)), "Idempotency-Key": "screenshot-1"},
    )
    assert paid.status_code == 201, paid.json
    assert paid.json["receipt_no"] == "7K2M-0001"
    fixed_clock.set(datetime(2027, 3, 15, 16, 30, tzinfo=AMSTERDAM))
    log_in(page, site, site.admin, "/admin")
    expect(page.get_by_role("navigation", name="Beheer")).to_be_visible()
    # Registered, with a pass, paid with it, their share, the free fund, merchants waiting.
    expect(page.locator(".figures li")).to_have_count(6)
    expect(page.locator(".figures li").nth(3)).to_contain_text("50,0 %")
    expect(page.get_by_role("row").filter(has_text="Ingelogd")).to_contain_text("15-03-2027 16:30")
    screenshot(page, "admin-dashboard")
    page.goto(f"{site.base}/admin/kinderen/{site.child_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sanne")
    expect(page.get_by_role("button", name="Pas blokkeren")).to_be_visible()
    expect(page.get_by_role("cell", name="Sportclub De Sprint")).to_be_visible()
    # The fixed clock's times, not the machine's: the screenshot is the same on every run.
    expect(page.get_by_role("cell", name="15-03-2027 14:05")).to_be_visible()
    expect(page.get_by_text("15-03-2027 09:00 – Pas KP-2027-000001 uitgegeven")).to_be_visible()
    screenshot(page, "admin-child")
    assert blocked == []
    with db.read() as s:
        assert s.execute(select(ChildPass.status).where(ChildPass.child_id == site.child_id)).scalar() == "active"


def test_the_checker_does_find_a_problem_when_there_is_one(launch_browser):
    """Guards the guard: a field without a label and grey-on-grey text must be reported."""
    page = launch_browser(camera=False).new_context(**DESKTOP, bypass_csp=True).new_page()
    page.set_content(
        '<!doctype html><html lang="nl"><head><title>t</title></head><body><main>'
        '<input type="text"><p style="color:#aaa;background:#bbb">onleesbaar</p></main></body></html>'
    )
    problems = serious_violations(page)
    assert any("label" in p for p in problems) and any("color-contrast" in p for p in problems), problems


def test_the_merchant_pages_have_no_serious_accessibility_problems_in_each_state(launch_browser, live_server, settled, world):  # noqa: F811 - the fixture imported above
    """The till's new states (menu open, a wrong code, the typed-code lockout,
    a voided receipt) and the payouts and a statement, on a phone."""
    batch_id, user = settled
    page = launch_browser(camera=False).new_context(**PHONE, bypass_csp=True).new_page()
    base = live_server.url
    page.goto(f"{base}/login?next=/merchant")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(user.password)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.locator("#scan-app")).to_have_attribute("data-ready", "1")
    check(page, "/merchant without a camera")
    page.get_by_role("button", name="Menu").click()
    check(page, "/merchant with the menu open")
    page.keyboard.press("Escape")

    code = page.get_by_label("Of typ de code van de pas")
    for n in range(10):
        code.fill(f"ZZZZ-ZZZZ-ZZ{n}Z")
        page.get_by_role("button", name="Code controleren").click()
        expect(page.locator("#code-error")).not_to_be_empty()
        code.fill("")
    code.fill("ZZZZ-ZZZZ-ZZZZ")
    page.get_by_role("button", name="Code controleren").click()
    expect(page.locator("#code-error")).to_contain_text("Een QR-code scannen kan gewoon.")
    check(page, "/merchant, typing held back")

    code.fill(world.passes["T-1"][0])  # the pass link, as a scanner would send it
    page.get_by_role("button", name="Code controleren").click()
    budget = page.locator("form.voucher[data-kind=budget]")
    budget.get_by_label("Bedrag in euro").fill("2,50")
    budget.get_by_role("button", name="Afrekenen").click()
    page.get_by_role("button", name="Annuleren").click()
    page.get_by_role("button", name="Ja, annuleren").click()
    expect(page.get_by_role("heading", name="Geannuleerd")).to_be_visible()
    check(page, "/merchant, a voided receipt")

    for path in ("/merchant/uitbetalingen", f"/merchant/uitbetalingen/{batch_id}"):
        page.goto(base + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check(page, path)

"""The newcomer's path: ``./scripts/serve``'s demo, a phone, a redemption.

``./scripts/serve`` runs ``pasdienst db upgrade`` and ``pasdienst demo`` on
an empty SQLite file and prints logins and pass links. This test does the
same through the CLI, reads the printed lines as a person would, serves the
real app on that database, and on a phone-sized Chromium logs in as the demo
merchant, types a demo pass's code, charges 12,50 and finds the new balance
on the holder's own page.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from pasdienst.config import load_settings
from pasdienst.db import Database
from pasdienst.labels import euros
from pasdienst.ledger import verify
from pasdienst.money import parse_euros
from pasdienst.web.app import create_app
from tests.conftest import Cli
from tests.text import spaced

from .helpers import phone_page, serving

pytestmark = pytest.mark.browser

TRY_IT = re.compile(r"^try the till: open \S+/login .* log in as (\S+) / (\S+) \(([^,]+), sport_culture\)", re.M)
PASS_LINE = re.compile(r"^pass (KP-\d{4}-\d{6}): (\S+/p/\S+) \(code ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\)$", re.M)


@pytest.fixture
def serve_cli(tmp_path: Path) -> Cli:
    """The CLI on an empty SQLite file, as ./scripts/serve starts out."""
    return Cli(f"sqlite:///{tmp_path / 'serve' / 'pasdienst.db'}", tmp_path)


@pytest.fixture
def demo_output(serve_cli: Cli) -> str:
    serve_cli("db", "upgrade")
    return serve_cli("demo").output


@pytest.fixture
def demo_server(serve_cli: Cli, demo_output: str) -> Iterator[tuple[str, Database]]:
    settings = load_settings(environ=serve_cli.env)
    db = Database(settings.database_url)
    try:
        with serving(create_app(settings, db=db)) as url:
            yield url, db
    finally:
        db.dispose()


def test_a_newcomer_logs_in_as_the_printed_demo_merchant_and_redeems_a_printed_demo_pass(
    demo_output: str, demo_server, launch_browser
):
    base, db = demo_server
    email, password, merchant_name = TRY_IT.search(demo_output).groups()
    passes = PASS_LINE.findall(demo_output)
    assert len(passes) == 3, demo_output
    _number, link, code = passes[0]
    holder_page = base + urlsplit(link).path  # the link names PASDIENST_BASE_URL; here it is served locally

    page: Page = phone_page(launch_browser(camera=False))
    page.goto(f"{base}/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}/merchant")  # a merchant lands on the till
    expect(page.locator(".merchant-name")).to_have_text(merchant_name)
    assert page.evaluate("() => document.documentElement.scrollWidth") == 360  # no sideways scrolling on a phone

    page.get_by_label("Of typ de code van de pas").fill(code)
    page.get_by_role("button", name="Code controleren").click()
    expect(page.get_by_role("heading", name="Bevestigen")).to_be_visible()
    sport = page.locator("form.voucher[data-kind=budget]").filter(has_text="Sport en cultuur")
    before = parse_euros(sport.locator(".voucher-balance").inner_text().removeprefix("Tegoed € "))
    assert before >= 1250
    sport.get_by_label("Bedrag in euro").fill("12,50")
    sport.get_by_role("button", name="Afrekenen").click()

    expect(page.get_by_role("heading", name="Betaald")).to_be_visible()
    expect(page.locator("#receipt-amount")).to_have_text("€ 12,50")
    left = spaced(euros(before - 1250))
    expect(page.locator("#receipt-left")).to_have_text(left)

    page.goto(holder_page)  # the family's own page shows what is left
    expect(page.locator(".voucher-budget").filter(has_text="Sport").locator(".voucher-balance")).to_have_text(left)
    with db.read() as s:
        assert verify(s).ok

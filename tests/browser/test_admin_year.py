"""A municipality's year from the web alone, as a new administrator does it.

The operator has only made the municipality and its first admin (the CLI's
bootstrap). Everything else happens in Chromium on the real app, with a real
``pasdienst worker`` process running the jobs the pages start: top up the
fund, load the scheme from the example, import the children file, issue the
passes, make and download the letters PDF, look up a child's pass and, with
the date moved past the year's end, close the year.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select

from pasdienst.ledger import verify
from pasdienst.wallet.models import ChildPass
from pasdienst.wallet.schemes import example_scheme
from pasdienst.web.app import create_app
from tests.factories import MadeUser, make_municipality, make_user
from tests.conftest import TEST_KEY

from .helpers import serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPRING = date(2027, 3, 15)
NEXT_WINTER = date(2028, 1, 5)
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "nl-NL", "accept_downloads": True}
JOB_TIMEOUT = 120_000  # ms: the worker polls, renders QR codes and a PDF on a busy machine

CHILDREN = (
    "child_ref;first_name;birth_date;household_ref;income_pct;override_reason;bsn;email;postcode\n"
    "W-1;Noor;2016-04-01;H1;100;;;;9251 AA\n"
    "W-2;Sem;2014-09-12;H1;100;;;;9251 AA\n"
    "W-3;Lot;2019-02-03;H2;125;;;;9251 AB\n"
    "W-4;Daan;2012-11-30;H3;110;;;;9251 AC\n"
    "W-5;Ilse;2010-06-15;H4;99,5;;;;9251 AD\n"
    "W-6;Bram;2018-01-20;H5;400;;;;9251 AE\n"  # income too high: no pass
).encode()


@pytest.fixture
def year_settings(settings, tmp_path: Path):
    return replace(settings, today=SPRING, queue_url=f"sqlite:///{tmp_path / 'queue.db'}")


@pytest.fixture
def admin(db, year_settings) -> MadeUser:
    """The operator's bootstrap: the municipality and its first administrator; nothing else."""
    make_municipality(db, "testdorp")
    return make_user(db, "admin", email="beheer@testdorp.example")


@pytest.fixture
def worker(year_settings, tmp_path: Path) -> Iterator[Callable[[date], None]]:
    """``worker(today)``: (re)start ``pasdienst worker`` on the test's database and queue."""
    running: list[subprocess.Popen] = []

    def stop() -> None:
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
        running.clear()

    def start(today: date) -> None:
        stop()
        log = open(tmp_path / f"worker-{today}.log", "wb")
        running.append(subprocess.Popen(
            [sys.executable, "-m", "pasdienst.cli", "worker"],
            env={
                **os.environ,
                "PASDIENST_DATABASE_URL": year_settings.database_url,
                "PASDIENST_SECRET_KEY": TEST_KEY,
                "PASDIENST_INSTANCE_PATH": str(year_settings.instance_path),
                "PASDIENST_BASE_URL": year_settings.base_url,
                "PASDIENST_QUEUE_URL": year_settings.queue_url,
                "PASDIENST_TODAY": today.isoformat(),
            },
            stdout=log, stderr=subprocess.STDOUT,
        ))

    yield start
    stop()


def _log_in(page: Page, base: str, admin: MadeUser) -> None:
    page.goto(f"{base}/login?next=/admin")
    page.get_by_label("E-mailadres").fill(admin.email)
    page.get_by_label("Wachtwoord").fill(admin.password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}/admin")


def _job_done(page: Page) -> None:
    """The job page polls the worker's progress and shows the outcome when it is done."""
    expect(page.locator("#job-outcome")).to_contain_text("Klaar", timeout=JOB_TIMEOUT)


def test_a_new_administrator_runs_the_year_from_the_web(db, year_settings, admin, worker, launch_browser, tmp_path):
    browser = launch_browser(camera=False)
    worker(SPRING)
    app = create_app(year_settings, db=db)
    with serving(app) as base:
        page = browser.new_context(**DESKTOP).new_page()
        _log_in(page, base, admin)

        # The fund: the council's yearly contribution.
        page.goto(f"{base}/admin/budget")
        page.get_by_label("Bedrag in euro").fill("5000,00")
        page.get_by_label("Kenmerk").fill("Raadsbesluit 2027-04")
        page.get_by_role("button", name="Ophogen").click()
        expect(page.locator("body")).to_contain_text("5.000,00")

        # The scheme: the example the page offers, for this municipality and year, pasted in.
        page.goto(f"{base}/admin/regeling")
        page.get_by_label("Of plak de tekst").fill(example_scheme("testdorp", 2027))
        page.get_by_role("button", name="Regeling laden").click()
        expect(page.locator("body")).to_contain_text("De regeling voor 2027 is geladen.")

        # The children file from the municipality's own system.
        page.goto(f"{base}/admin/import")
        page.get_by_label("CSV-bestand").set_input_files(
            {"name": "kinderen.csv", "mimeType": "text/csv", "buffer": CHILDREN}
        )
        page.get_by_role("button", name="Importeren").click()
        expect(page.locator("body")).to_contain_text("6")

        # Passes for everyone eligible, as a background job with its progress.
        page.goto(f"{base}/admin/passen-uitgeven?jaar=2027")
        page.get_by_role("button", name="5 passen uitgeven").click()
        _job_done(page)
        expect(page.locator("#job-issued")).to_have_text("5")

        # The letters, one PDF for the printer.
        page.goto(f"{base}/admin/brieven?jaar=2027")
        page.get_by_role("button", name="Alle 5 brieven maken").click()
        _job_done(page)
        with page.expect_download() as download:
            page.get_by_role("link", name="downloaden").click()
        pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert len(pdf.pages) == 5
        assert "Noor" in "".join(p.extract_text() for p in pdf.pages)

        # A parent calls: the child's page shows the pass.
        page.goto(f"{base}/admin/kinderen")
        page.get_by_label("Zoek op klantnummer, voornaam of pasnummer").fill("Noor")
        page.get_by_role("button", name="Zoeken").click()
        page.get_by_role("row").filter(has_text="Noor").get_by_role("link", name="W-1").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Noor")
        expect(page.locator("body")).to_contain_text("KP-2027-")

        # After the year: the passes expire and what is left on them returns to the fund, once.
        app.extensions["pasdienst.settings"] = replace(year_settings, today=NEXT_WINTER)
        worker(NEXT_WINTER)
        page.goto(f"{base}/admin/jaarafsluiting")
        expect(page.locator("#yearend-passes")).to_have_text("5")
        page.get_by_label("Typ het jaartal 2027 om te bevestigen").fill("2027")
        page.get_by_role("button", name="Jaar 2027 afsluiten").click()
        _job_done(page)
        expect(page.locator("#job-expired")).to_have_text("5")
        page.goto(f"{base}/admin/jaarafsluiting")
        expect(page.locator("#yearend-refused")).to_contain_text("Het jaar 2027 is al afgesloten.")

    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ChildPass).where(ChildPass.status == "expired")) == 5
        assert verify(s).ok

"""The demo: a scheme, the sample children and their passes, loaded twice."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from pasdienst.demo import load_demo
from pasdienst.wallet.services import resolve_pass

from .helpers import counts, verified

pytestmark = pytest.mark.money

DAY = date(2027, 3, 1)


def test_the_demo_issues_passes_and_prints_three_links_with_codes_and_is_idempotent(db, settings):
    first = load_demo(db, settings, DAY)
    with db.read() as s:
        after_first = counts(s)
    second = load_demo(db, settings, DAY)
    assert first.lines == second.lines
    with db.read() as s:
        assert counts(s) == after_first
        # The sample's 30, the one a case worker registered, and buurdorp's four (the cooperation).
        assert after_first["children"] == 35 and after_first["passes"] >= 24
    links = [line for line in first.lines if line.startswith("pass KP-2027-")]
    assert len(links) == 3
    with db.read() as s:
        for line in links:
            url, code = re.search(r"(https://pas\.example\.nl/p/\S+) \(code (\S+)\)", line).groups()
            assert resolve_pass(s, url, settings=settings, today=DAY).id == resolve_pass(s, code, settings=settings, today=DAY).id
    verified(db)


def test_the_demo_pass_pages_open(db, settings):
    from pasdienst.web.app import create_app

    report = load_demo(db, settings, DAY)
    url = re.search(r"https://pas\.example\.nl(/p/\S+)", next(line for line in report.lines if line.startswith("pass "))).group(1)
    client = create_app(replace(settings, today=DAY), db=db).test_client()
    page = client.get(url)
    assert page.status_code == 200
    # Whom the demo's families call: the demo municipality's own details.
    assert '<a href="tel:140599">14 0599</a>' in page.get_data(as_text=True)
    assert client.get(url + "/qr.png").status_code == 200

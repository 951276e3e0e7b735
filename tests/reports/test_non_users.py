"""The list of households that have not used the pass (``reports/nonusers.py``), against ``tests/reminders/world.py``."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest

from pasdienst.access.policy import Actor
from pasdienst.errors import ValidationFailed
from pasdienst.reports import nonusers
from pasdienst.reports.nonusers import Criteria, non_users
from pasdienst.web.app import create_app
from tests.factories import login_as, make_user
from tests.admin.conftest import last_event
from tests.reminders.world import CODE, FULL, YEAR, build_families
from tests.text import spaced, visible_text

pytestmark = pytest.mark.money

JUNE = date(2027, 6, 30)
YEAR_END = date(2027, 12, 31)


@pytest.fixture
def families(db, settings):
    return build_families(db, settings)


def staff(families, role: str = "caseworker") -> Actor:
    return Actor(user_id=None, email=f"{role}@testdorp.example", role=role,
                 municipality_id=families.municipality_id, municipality_code=CODE)


def listed(families, criteria: Criteria, **kw):
    with families.db.read() as s:
        return non_users(s, staff(families), criteria, settings=families.settings, **kw)


def names(found) -> list[list[str]]:
    return [[c.first_name for c in h.children] for h in found.rows]


def test_households_that_spent_nothing_by_the_day_in_postcode_order(families):
    found = listed(families, Criteria(YEAR, JUNE))
    # H-1 spent (Sanne, February); Bram's payment was voided; Mila's pass is blocked; Saar pays in September.
    assert names(found) == [["Liam", "Emma"], ["Saar"], ["Bram"], ["Noor"], ["Finn"]]
    assert (found.households, found.children, found.page, found.pages) == (5, 6, 1, 1)
    # "Still open" is what the passes hold now: Saar's cheque was spent in September.
    assert [h.open_cents for h in found.rows] == [2 * FULL, FULL - 7500, FULL, FULL, FULL]
    assert found.open_cents == 6 * FULL - 7500
    liam = found.rows[0]
    assert liam.household_ref is None and liam.email == "liam.mam@example.nl" and liam.postcode == "8401 CD"
    assert found.rows[3].email == "noor.thuis@example.nl"  # lower case
    finn = found.rows[4]
    assert (finn.household_ref, finn.email, finn.postcode, finn.opted_out) == ("H-3", None, None, False)
    assert all(h.spent_cents == 0 for h in found.rows)


def test_spending_counts_up_to_and_including_the_day_over_every_generation_of_a_pass(families):
    # Saar's 75.00 was paid on her first pass, which was replaced: still hers.
    found = listed(families, Criteria(YEAR, YEAR_END))
    assert names(found) == [["Liam", "Emma"], ["Bram"], ["Noor"], ["Finn"]]
    # 10 February 10:00 UTC is 11:00 in Amsterdam: the day before it nothing was spent yet, on the day it was.
    assert ["Sanne", "Daan"] in names(listed(families, Criteria(YEAR, date(2027, 2, 9))))
    assert ["Sanne", "Daan"] not in names(listed(families, Criteria(YEAR, date(2027, 2, 10))))


def test_under_an_amount_counts_the_household_together(families):
    # H-1: 10.00 by June (under 20.00), 30.00 by the year's end (not under).
    june = listed(families, Criteria(YEAR, JUNE, under_cents=2000))
    assert ["Sanne", "Daan"] in names(june)
    h1 = next(h for h in june.rows if h.household_ref == "H-1")
    assert (h1.spent_cents, h1.open_cents) == (1000, 2 * FULL - 3000)  # open now: Daan paid in October too
    assert (june.households, june.children) == (6, 8)
    assert ["Sanne", "Daan"] not in names(listed(families, Criteria(YEAR, YEAR_END, under_cents=2000)))
    assert ["Sanne", "Daan"] in names(listed(families, Criteria(YEAR, YEAR_END, under_cents=3001)))


def test_pages_of_the_list(families, monkeypatch):
    monkeypatch.setattr(nonusers, "PAGE_SIZE", 2)
    pages = [listed(families, Criteria(YEAR, JUNE), page=n) for n in (1, 2, 3)]
    assert [names(p) for p in pages] == [[["Liam", "Emma"], ["Saar"]], [["Bram"], ["Noor"]], [["Finn"]]]
    assert {(p.households, p.children, p.pages) for p in pages} == {(5, 6, 3)}
    assert listed(families, Criteria(YEAR, JUNE), page=99).page == 3  # past the end: the last page


def test_another_year_or_a_bad_amount(families):
    assert listed(families, Criteria(2026, JUNE)).households == 0
    with pytest.raises(ValidationFailed):
        listed(families, Criteria(YEAR, JUNE, under_cents=0))


@pytest.fixture
def app(settings, db):
    application = create_app(replace(settings, today=date(2027, 7, 1)), db=db)
    application.config.update(TESTING=True)
    return application


def test_the_page_for_a_caseworker_and_the_audited_export(families, client, db):
    login_as(client, make_user(db, "caseworker", municipality=CODE))
    page = client.get("/admin/bereik?jaar=2027&tot=2027-06-30")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = visible_text(html)  # not the raw HTML: its CSRF token may hold any three letters
    assert "5 huishoudens, 6 kinderen" in html and "Liam" in html and "Sanne" not in shown
    assert "Ava" not in shown  # another municipality
    assert "€ 1.845,00" in spaced(html)  # 6 × 320.00 − 75.00 still open
    response = client.get("/admin/bereik.csv?jaar=2027&tot=2027-06-30")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == list(nonusers.CSV_COLUMNS)
    assert rows[1] == ["", "2", "R-4 R-5", "Liam, Emma", rows[1][4], "8401 CD", "0,00", "640,00", "ja"]
    assert [r[0] for r in rows[1:]] == ["", "H-4", "H-5", "H-2", "H-3"]
    event = last_event(db, "reach.export")
    assert event.after == {"year": 2027, "spent_until": "2027-06-30", "under_cents": None, "households": 5, "children": 6}
    assert "@" not in str(event.after)


def test_the_page_refuses_bad_filters_in_dutch(families, client, db):
    login_as(client, make_user(db, "admin", municipality=CODE))
    for query in ("tot=2027-02-30", "onder=abc", "onder=0", "jaar=١٢"):
        page = client.get(f"/admin/bereik?{query}")
        assert page.status_code == 422, query
        assert "field-error" in page.get_data(as_text=True)
    assert client.get("/admin/bereik.csv?onder=abc").status_code == 302

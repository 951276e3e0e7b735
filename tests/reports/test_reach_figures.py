"""Reach over time, per district and after reminders (``reports/outreach.py``), worked out by hand.

The weeks use ``world.py``'s redemptions (R1-R7, see its table): 2027 has 53
weeks from Friday 1 January (ISO 2026-W53, three days) to the week of
Monday 27 December. The districts and reminders use ``tests/reminders/world.py``.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from pasdienst.jobs.models import DONE
from pasdienst.access.accounts import actor_for_email
from pasdienst.clock import local_date
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import run_job
from pasdienst.reminders.models import ReminderSend
from pasdienst.reminders.runs import start_now
from pasdienst.reports.outreach import DistrictRow, WeekRow
from pasdienst.reports.usage import usage_report, usage_table
from pasdienst.web.app import create_app
from tests.factories import login_as, make_user
from tests.reminders.world import CLOTHES_SHOP, build_families

from .world import CODE, YEAR, build_world

pytestmark = pytest.mark.money


def report(db, code=CODE, **kw):
    with db.read() as s:
        return usage_report(s, code, YEAR, **kw)


def test_week_by_week_with_new_children_and_the_running_total(db, settings):
    build_world(db, settings)
    weeks = report(db).by_week
    assert len(weeks) == 53
    assert weeks[0] == WeekRow("2026-W53", date(2027, 1, 1), 0, 0, 0, 0, 0)
    assert weeks[1].starts == date(2027, 1, 4) and weeks[-1].starts == date(2027, 12, 27)
    busy = {w.week: w for w in weeks if w.redemptions}
    assert busy == {
        "2027-W06": WeekRow("2027-W06", date(2027, 2, 8), 1, 3000, 1, 1, 1),
        # R4 (23:30 on Tuesday 31 August in Amsterdam) and R2: two children, both new.
        "2027-W35": WeekRow("2027-W35", date(2027, 8, 30), 2, 15000, 2, 2, 3),
        "2027-W37": WeekRow("2027-W37", date(2027, 9, 13), 1, 900, 1, 0, 3),  # Noor again: not new
        "2027-W39": WeekRow("2027-W39", date(2027, 9, 27), 1, 7500, 1, 1, 4),
        "2027-W49": WeekRow("2027-W49", date(2027, 12, 6), 1, 2000, 1, 0, 4),  # R6 in W48 was voided
    }
    assert [w.reached_children for w in weeks][34:40] == [1, 3, 3, 3, 3, 4]
    figures = report(db).figures()
    assert figures["by_week"][-1]["reached_share"] == 0.5714 == figures["usage_share"]


def test_districts_are_the_postcodes_four_digits(db, settings):
    families = build_families(db, settings)
    assert report(db).by_district == (
        DistrictRow("8401", 2, 0, 0, 0),
        DistrictRow("9000", 1, 1, 1, 7500),  # Saar, on her first pass
        DistrictRow("9251", 5, 2, 2, 3000),  # Sanne, Daan, Noor, Bram (voided), Mila (blocked: still reached)
        DistrictRow("unknown", 1, 0, 0, 0),
    )
    assert families  # every child counted once: 9 in all
    assert sum(d.eligible_children for d in report(db).by_district) == report(db).eligible_children == 9


def test_how_many_reminded_families_used_the_pass_within_four_weeks(db, settings):
    families = build_families(db, settings)
    run_settings = replace(settings, today=date(2027, 11, 1), smtp_url="console://")
    admin = make_user(db, "admin", municipality=CODE)
    with db.transaction() as s:
        job_id = start_now(s, actor_for_email(s, admin.email), year=YEAR, title="November", under_cents=None,
                           today=date(2027, 11, 1)).id
    assert run_job(db, run_settings, JobQueue(run_settings), job_id, today=date(2027, 11, 1)) == DONE
    with db.read() as s:
        sent_at = min(s.scalars(select(ReminderSend.at)))
    # The run's day (PASDIENST_TODAY) in Amsterdam, at the clock's time: just after
    # midnight there it is still 31 October in UTC, which sent_at is kept in.
    assert local_date(sent_at) == date(2027, 11, 1)

    def pay(ref: str, when: datetime, cents: int, key: str) -> None:
        families.redeem(ref, CLOTHES_SHOP, "cheque", "clothing", when, cents, key)

    pay("R-5", datetime(2027, 11, 10, 10, tzinfo=timezone.utc), 1000, "e1")  # Emma: within four weeks
    pay("R-4", datetime(2027, 11, 20, 10, tzinfo=timezone.utc), 1000, "l1")  # Liam too: the same household
    pay("R-8", datetime(2027, 12, 15, 10, tzinfo=timezone.utc), 1000, "b1")  # Bram: too late
    pay("R-3", datetime(2027, 10, 31, 10, tzinfo=timezone.utc), 1000, "n1")  # Noor: before the e-mail
    (row,) = report(db, now=datetime(2028, 1, 1, tzinfo=timezone.utc)).reminders
    assert (row.title, row.send_on, row.households, row.children) == ("November", date(2027, 11, 1), 3, 4)
    assert (row.households_used, row.children_used, row.window_weeks, row.window_closed) == (1, 2, 4, True)
    assert report(db, now=datetime(2027, 11, 15, tzinfo=timezone.utc)).reminders[0].window_closed is False
    figures = report(db, now=datetime(2028, 1, 1, tzinfo=timezone.utc)).figures()["reminders"][0]
    assert figures["share_used"] == 0.3333
    published = report(db).published()["reminders"][0]
    assert (published["households"], published["households_used"], published["share_used"]) == ("<5", "<5", "<5")
    header, rows = usage_table(report(db).figures(), "reminders")
    assert header[:4] == ["send_on", "title", "households", "children"] and rows[0][:4] == ["2027-11-01", "November", 3, 4]


def test_the_publication_hides_small_districts_and_a_running_total_that_grows_by_a_handful(db, settings):
    build_families(db, settings)
    published = report(db).published()
    assert [(d["district"], d["eligible_children"], d["children_with_redemption"]) for d in published["by_district"]] == [
        ("8401", "<5", "<5"), ("9000", "<5", "<5"), ("9251", 5, "<5"), ("unknown", "<5", "<5"),
    ]
    assert all("new_children" not in w for w in published["by_week"])
    full = report(db)
    series = [0, 0, 3, 5, 7, 12, 12, 20]
    rows = tuple(WeekRow(f"2027-W{i:02d}", date(2027, 1, 4), 0, 0, 0, 0, n) for i, n in enumerate(series))
    made = replace(full, by_week=rows, eligible_children=30, children_with_redemption=20).published()["by_week"]
    assert [w["reached_children"] for w in made] == ["<5", "<5", "<5", 5, "<5", 12, 12, 20]
    assert [w["reached_share"] for w in made][3] == round(5 / 30, 4)


def test_the_page_draws_the_weeks_districts_and_reminders(db, settings):
    build_families(db, settings)
    app = create_app(replace(settings, today=date(2027, 11, 1)), db=db)
    app.config.update(TESTING=True)
    client = app.test_client()
    login_as(client, make_user(db, "admin", municipality=CODE))
    page = client.get("/admin/gebruik?year=2027").get_data(as_text=True)
    for chart in ("chart-week", "chart-reached", "chart-district"):
        assert f'id="{chart}"' in page
    assert "start schooljaar" in page and "december" in page and ">9251<" in page and ">Onbekend<" in page
    assert "nog geen herinneringen per e-mail verstuurd" in page
    csv = client.get("/admin/gebruik.csv?year=2027&table=by_district").get_data(as_text=True)
    assert "Postcodegebied" in csv and "Onbekend" in csv

"""Reminder runs through a real SMTP sink: who gets one, what it says, the log, the unsubscribe, the due moments.

The world is ``world.py``'s on 1 November 2027: by then Sanne (H-1), Saar and
Daan have paid. Not yet: Noor (H-2), Liam and Emma (one address), Finn (no
address), Bram (his payment was voided). Mila's pass is blocked.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select, update

from pasdienst.clock import AMSTERDAM
from pasdienst.jobs.models import DONE, FAILED, QUEUED, Job
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import run_job
from pasdienst.jobs.worker import make_consumer
from pasdienst.reminders import runs
from pasdienst.reminders.models import SENDING, SENT, UNKNOWN, ReminderChild, ReminderMoment, ReminderSend
from pasdienst.wallet import tokens
from tests.admin.conftest import flashes, last_event, post
from tests.factories import login_as, make_user

from .conftest import free_port
from .world import FULL

pytestmark = pytest.mark.money

NOV_1 = date(2027, 11, 1)
NOT_USED = ["bram@example.nl", "liam.mam@example.nl", "noor.thuis@example.nl"]


def run_queued(db, settings) -> list[str | None]:
    queue = JobQueue(settings)
    with db.read() as s:
        ids = list(s.scalars(select(Job.id).where(Job.state == QUEUED).order_by(Job.id)))
    return [run_job(db, settings, queue, job_id, today=settings.today) for job_id in ids]


def send_now(client, **form) -> str:
    response = post(client, "/admin/herinneringen/nu", {"year": "2027", "title": "Herinnering", **form},
                    token_from="/admin/herinneringen")
    assert response.status_code == 302, flashes(client)
    assert re.fullmatch(r"/admin/taken/\d+", response.headers["Location"])
    return response.headers["Location"]


def job_of(db, url: str) -> Job:
    with db.read() as s:
        return s.get(Job, int(url.rsplit("/", 1)[1]))


def test_send_now_mails_each_household_address_once_with_its_childrens_pass_links(
    families, client, admin, db, mail_settings, smtp_sink,
):
    page = client.get("/admin/herinneringen").get_data(as_text=True)
    assert 'id="preview-addresses">3<' in page and "naar mailserver 127.0.0.1" in page
    job_url = send_now(client)
    assert run_queued(db, mail_settings) == [DONE]
    assert smtp_sink.recipients() == NOT_USED
    assert all(envelope == ("kinderpas@testdorp.nl", [to]) for envelope, to in zip(
        sorted(smtp_sink.envelopes, key=lambda e: e[1]), NOT_USED, strict=True))

    liam = smtp_sink.to("liam.mam@example.nl")  # Liam and Emma: one message
    assert liam["Subject"] == "Nog tegoed op de kinderpas van Liam en Emma"
    body = liam.get_content().replace("\r\n", "\n")  # SMTP carries CRLF
    for ref, name in (("R-4", "Liam"), ("R-5", "Emma")):
        link = tokens.payload_for(mail_settings, families.current_pass(ref).handle)
        assert f"{name}: {link}\n" in body
        assert link.startswith("https://pas.example.nl/p/")
    unsubscribe = liam["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://pas.example.nl/afmelden/") and unsubscribe in body
    assert "@" not in unsubscribe.rsplit("/", 1)[1]  # the link carries no address
    assert "Sanne" not in smtp_sink.to("noor.thuis@example.nl").get_content()

    job = job_of(db, job_url)
    assert job.state == DONE
    assert {k: job.summary[k] for k in ("households", "addresses", "sent", "failed", "children", "no_email", "opted_out")} == {
        "households": 4, "addresses": 3, "sent": 3, "failed": 0, "children": 4, "no_email": 1, "opted_out": 0,
    }
    shown = client.get(job_url).get_data(as_text=True)
    assert 'id="job-sent">3<' in shown and 'id="job-no-email">1<' in shown

    with db.read() as s:  # the log: who, when, which moment, the outcome; no message
        sends = s.execute(select(ReminderSend).order_by(ReminderSend.email)).scalars().all()
        assert [(r.email, r.children, r.outcome, r.job_id) for r in sends] == [
            ("bram@example.nl", 1, SENT, job.id), ("liam.mam@example.nl", 2, SENT, job.id),
            ("noor.thuis@example.nl", 1, SENT, job.id),
        ]
        assert len({r.moment_id for r in sends}) == 1
        named = set(s.scalars(select(ReminderChild.child_id)))
    assert named == {families.child_id(ref) for ref in ("R-3", "R-4", "R-5", "R-8")}
    assert not any(hasattr(ReminderSend, column) for column in ("body", "subject", "message", "content"))
    assert last_event(db, "reminder.plan").after["title"] == "Herinnering"


def test_the_unsubscribe_link_is_honoured_by_every_later_run(families, client, admin, db, mail_settings, smtp_sink, app):
    send_now(client)
    run_queued(db, mail_settings)
    link = smtp_sink.to("noor.thuis@example.nl")["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("https://pas.example.nl")
    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200 and "Afmelden" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    done = visitor.post(path)  # one click, no session, no form token: the signed link is enough
    assert done.status_code == 200 and 'id="opt-out-done"' in done.get_data(as_text=True)
    assert "al eerder" in visitor.get(path).get_data(as_text=True)
    event = last_event(db, "reminder.opt_out")
    assert event.actor_email == "afmeldlink" and "noor" not in str(event.after).lower()
    # The mail client's own one-click POST (RFC 8058) on Liam's link.
    liam = smtp_sink.to("liam.mam@example.nl")["List-Unsubscribe"].strip("<>").removeprefix("https://pas.example.nl")
    assert visitor.post(liam, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    # The list shows it, and the next run skips both addresses.
    listed = client.get("/admin/bereik?jaar=2027&tot=2027-11-01").get_data(as_text=True)
    assert listed.count(">afgemeld<") == 2
    smtp_sink.messages.clear()
    job_url = send_now(client, title="December")
    assert run_queued(db, mail_settings) == [DONE]
    assert smtp_sink.recipients() == ["bram@example.nl"]
    assert job_of(db, job_url).summary["opted_out"] == 2
    # A changed or foreign link does nothing.
    assert visitor.post(path[:-2] + "xx").status_code == 404
    assert visitor.get("/afmelden/" + "a" * 300).status_code == 404


def test_a_refused_address_is_logged_as_failed_and_the_run_goes_on(families, client, admin, db, mail_settings, smtp_sink):
    with db.transaction() as s:
        from pasdienst.wallet.models import Child

        s.execute(update(Child).where(Child.child_ref == "R-3").values(email="weiger@example.nl"))
    job_url = send_now(client)
    assert run_queued(db, mail_settings) == [DONE]
    assert smtp_sink.recipients() == ["bram@example.nl", "liam.mam@example.nl"]
    assert job_of(db, job_url).summary["failed"] == 1
    with db.read() as s:
        refused = s.execute(select(ReminderSend).where(ReminderSend.email == "weiger@example.nl")).scalar_one()
    assert (refused.outcome, refused.error) == ("failed", "550")


def test_a_mail_server_that_is_down_fails_the_run_and_starting_it_again_sends_what_is_left(
    families, client, admin, db, mail_settings, smtp_sink,
):
    down = replace(mail_settings, smtp_url=f"smtp://127.0.0.1:{free_port()}?timeout=2")
    job_url = send_now(client)
    assert run_queued(db, down) == [FAILED]
    failed = job_of(db, job_url)
    assert failed.error_code == "mail_unavailable"
    assert "niet bereikbaar" in client.get(job_url).get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ReminderSend)) == 0  # nothing claimed stays behind
        moment_id = s.scalar(select(ReminderMoment.id))
    page = client.get("/admin/herinneringen").get_data(as_text=True)
    assert "Opnieuw versturen" in page and "mislukt" in page
    again = post(client, f"/admin/herinneringen/{moment_id}/opnieuw", token_from="/admin/herinneringen")
    assert again.status_code == 302
    assert run_queued(db, mail_settings) == [DONE]
    assert smtp_sink.recipients() == NOT_USED
    # Done now: it cannot be started a third time.
    post(client, f"/admin/herinneringen/{moment_id}/opnieuw", token_from="/admin/herinneringen")
    assert "mislukt" in flashes(client)[-1]


def test_a_run_after_a_crash_sends_nothing_twice(families, client, admin, db, mail_settings, smtp_sink):
    """Addresses a dead worker had claimed ("sending") become "unknown" and are not mailed again."""
    job_url = send_now(client)
    assert run_queued(db, mail_settings) == [DONE]
    job = job_of(db, job_url)
    with db.transaction() as s:
        s.execute(update(ReminderSend).where(ReminderSend.email == "bram@example.nl").values(outcome=SENDING))
        s.execute(update(ReminderSend).where(ReminderSend.email == "noor.thuis@example.nl").values(outcome="failed"))
        s.execute(update(Job).where(Job.id == job.id).values(state=QUEUED))
    smtp_sink.messages.clear()
    assert run_queued(db, mail_settings) == [DONE]
    assert smtp_sink.messages == []
    with db.read() as s:
        outcomes = dict(s.execute(select(ReminderSend.email, ReminderSend.outcome)).all())
    assert outcomes["bram@example.nl"] == UNKNOWN
    assert job_of(db, job_url).summary["unknown"] == 1


def test_planned_moments_start_once_when_due_from_nine_in_the_morning(families, client, admin, db, mail_settings, smtp_sink):
    for title, day in (("Start schooljaar", "2027-11-03"), ("December", "2027-12-01"), ("Geschrapt", "2027-11-02")):
        response = post(client, "/admin/herinneringen", {"year": "2027", "title": title, "send_on": day},
                        token_from="/admin/herinneringen")
        assert response.status_code == 302 and "gepland" in flashes(client)[-1]
    with db.read() as s:
        ids = dict(s.execute(select(ReminderMoment.title, ReminderMoment.id)).all())
    post(client, f"/admin/herinneringen/{ids['Geschrapt']}/schrappen", token_from="/admin/herinneringen")
    assert last_event(db, "reminder.cancel").before["status"] == "planned"
    queued: list[int] = []

    def at(day: int, hour: int) -> datetime:
        return datetime(2027, 11, day, hour, 0, tzinfo=AMSTERDAM).astimezone(timezone.utc)

    assert runs.start_due(db, queued.append, now=at(3, 8)) == []
    started = runs.start_due(db, queued.append, now=at(3, 9))
    assert len(started) == 1 and queued == started
    assert runs.start_due(db, queued.append, now=at(4, 12)) == []  # already started; the other is in December
    with db.read() as s:
        states = dict(s.execute(select(ReminderMoment.title, ReminderMoment.state)).all())
        job = s.get(Job, started[0])
    assert states == {"Start schooljaar": "started", "December": "planned", "Geschrapt": "cancelled"}
    assert (job.kind, job.params, job.requested_by_email) == ("reminders", {"moment_id": ids["Start schooljaar"], "year": 2027},
                                                            "beheer@testdorp.example")
    assert run_queued(db, mail_settings) == [DONE]
    assert smtp_sink.recipients() == NOT_USED


def test_planning_refuses_the_past_a_day_after_the_passes_and_a_year_without_passes(families, client, admin, db):
    for form, words in (
        ({"send_on": "2027-10-31"}, "vandaag of een dag in de toekomst"),
        ({"send_on": "2028-01-05"}, "geldig tot en met 31-12-2027"),
        ({"send_on": "2027-11-05", "year": "2031"}, "geen regeling voor 2031"),
        ({"send_on": "2027-11-05", "title": ""}, "naam"),
        ({"send_on": "2027-11-05", "under": "0"}, "meer dan € 0,00"),
        ({"send_on": "31-12"}, "Vul de dag in"),
    ):
        post(client, "/admin/herinneringen", {"year": "2027", "title": "X", **form}, token_from="/admin/herinneringen")
        assert words in flashes(client)[-1], form
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ReminderMoment)) == 0


def test_spent_less_than_an_amount_reaches_the_household_that_spent_little(families, client, admin, db, mail_settings, smtp_sink):
    send_now(client, under="35,00")  # H-1 spent 30.00 by November
    assert run_queued(db, mail_settings) == [DONE]
    assert "ouders.jansen@example.nl" in smtp_sink.recipients()
    assert "Sanne en Daan" in smtp_sink.to("ouders.jansen@example.nl")["Subject"]
    assert FULL  # (every pass started with 320.00; not in the message)


def test_the_worker_checks_for_due_moments_every_minute(mail_settings, db):
    consumer = make_consumer(mail_settings, db)
    periodic = {task.__name__ for task in consumer.huey._registry._periodic_tasks}
    assert "pasdienst.reminders.due" in periodic


def test_the_caseworker_sees_the_list_but_does_not_send(families, client, db):
    login_as(client, make_user(db, "caseworker", municipality="testdorp"))
    assert client.get("/admin/bereik").status_code == 200
    assert client.get("/admin/herinneringen").status_code == 403

"""A reminder run that has been sent in the demo (a run of ``pasdienst.demo``, after the cooperation).

Buurdorp's admin starts a reminder now for the families who have not used
the pass of this year (two of its three households: the third paid at the
cooperation's club), and the ``reminders`` job runs as a worker runs it:
the e-mails go to ``PASDIENST_SMTP_URL``, which in development is the
console (each message written to the log, nothing sent; set it to a local
sink such as ``python -m aiosmtpd -n -l 127.0.0.1:8025`` with
``smtp://127.0.0.1:8025`` to read them as mail). ``/admin/herinneringen``
then shows the run and its log, ``/admin/gebruik`` the reminder's figures.

Idempotent: once the moment exists, nothing is sent again.
"""
from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import select

from ..access.accounts import actor_for_email
from ..config import Settings
from ..cooperations.demo import NEIGHBOUR, NEIGHBOUR_STAFF
from ..db import Database
from ..jobs.models import Job
from ..jobs.queue import JobQueue
from ..jobs.services import run_job
from ..municipalities.models import Municipality
from .mail import target
from .models import ReminderMoment
from .runs import start_now

TITLE = "Demo: nog niet gebruikt"


class Report(Protocol):
    def add(self, line: str) -> None: ...


def _where(settings: Settings) -> str:
    found = target(settings)
    if found is None or found.scheme == "console":
        return "written to the log (console://; set PASDIENST_SMTP_URL to send them to an SMTP sink)"
    return f"sent to {found.host}:{found.port}"


def run_reminders_demo(db: Database, report: Report, settings: Settings, today: date) -> None:
    with db.read() as session:
        moment = session.execute(
            select(ReminderMoment).join(Municipality, Municipality.id == ReminderMoment.municipality_id)
            .where(Municipality.code == NEIGHBOUR, ReminderMoment.title == TITLE)
        ).scalar_one_or_none()
        job_id = moment.job_id if moment is not None else None
    if job_id is None:
        with db.transaction() as session:
            job_id = start_now(session, actor_for_email(session, NEIGHBOUR_STAFF[0][0]), year=today.year, title=TITLE,
                               under_cents=None, today=today).id
        run_job(db, settings, JobQueue(settings), job_id, today=today)
    with db.read() as session:
        job = session.get(Job, job_id)
        assert job is not None
        summary = dict(job.summary or {})
    report.add(
        f"reminder run '{TITLE}' of {NEIGHBOUR} is {job.state}: {summary.get('sent', 0)} e-mails to the households "
        f"that have not used the pass, naming {summary.get('children', 0)} children, {_where(settings)}: "
        "/admin/herinneringen (log in as the admin of buurdorp)"
    )

"""Planning reminder moments and starting their runs (the ``reminders`` job).

An administrator plans a moment (a day from ``SEND_HOUR`` on, a name, the
pass year, optionally "spent less than") or starts one now. A planned moment
is started by the worker when it is due: ``start_due`` runs as a huey
periodic task every minute in every ``pasdienst worker`` (``jobs/worker.py``),
claims each due moment with a conditional UPDATE (so two workers never both
start it) and starts its job in the same transaction; the job id goes on the
queue after COMMIT. A moment whose run failed (the mail server was down) can
be started again: it then writes only to the addresses not yet written to.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..access.logins import load_actor
from ..clock import AMSTERDAM, now_utc
from ..config import Settings
from ..db import Database, rowcount
from ..errors import Conflict, NotFound, ValidationFailed
from ..jobs.models import FAILED, Job
from ..jobs.services import start_job
from ..municipalities.models import Municipality
from ..reports.nonusers import MAX_UNDER_CENTS, Criteria, all_non_users
from ..wallet.models import Scheme
from .models import CANCELLED, PLANNED, SENT, STARTED, ReminderMoment, ReminderSend
from .optout import all_opted_out, email_hash

#: A planned moment goes out from this hour (Amsterdam) on its day.
SEND_HOUR = 9
KIND = "reminders"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class MomentRow:
    moment: ReminderMoment
    job: Job | None

    @property
    def status(self) -> str:
        """``planned``, ``cancelled``, or the run's: ``queued``, ``running``, ``done``, ``failed``."""
        if self.moment.state != STARTED or self.job is None:
            return self.moment.state
        return self.job.state


@dataclass(frozen=True)
class Preview:
    """Who a run started now would write to."""

    households: int
    addresses: int
    no_email: int
    opted_out: int


def _municipality(session: Session, actor: Actor, *roles: str) -> Municipality:
    ensure_role(actor, *roles)
    municipality = session.get(Municipality, actor.municipality_id) if actor.municipality_id else None
    if municipality is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    ensure_municipality(actor, municipality.id)
    return municipality


def _scheme(session: Session, municipality_id: int, year: int) -> Scheme:
    scheme = session.execute(
        select(Scheme).where(Scheme.municipality_id == municipality_id, Scheme.year == year)
    ).scalar_one_or_none()
    if scheme is None:
        raise ValidationFailed(f"there is no scheme for {year}", refusal="reminder_no_scheme", year=year,
                               errors={"year": ["no scheme"]})
    return scheme


def _title(title: str) -> str:
    text = _CONTROL.sub("", title or "").strip()
    if not text:
        raise ValidationFailed("give the reminder a name", refusal="reminder_title_missing", errors={"title": ["required"]})
    if len(text) > 100:
        raise ValidationFailed("the name is longer than 100 characters", refusal="reminder_title_too_long", limit=100,
                               errors={"title": ["too long"]})
    return text


def _under(under_cents: int | None) -> int | None:
    if under_cents is not None and not 0 < under_cents <= MAX_UNDER_CENTS:
        raise ValidationFailed(f"the amount is more than 0 and at most {MAX_UNDER_CENTS} cents", refusal="under_range",
                               max_cents=MAX_UNDER_CENTS, errors={"under": ["out of range"]})
    return under_cents


def plan_moment(
    session: Session, actor: Actor, *, year: int, send_on: date, title: str, under_cents: int | None, today: date,
) -> ReminderMoment:
    """A moment for the worker to start on ``send_on`` (admin); audited as ``reminder.plan``."""
    municipality = _municipality(session, actor, "admin")
    scheme = _scheme(session, municipality.id, year)
    if send_on < today:
        raise ValidationFailed("choose today or a later day", refusal="reminder_day_past", errors={"send_on": ["in the past"]})
    if send_on > scheme.valid_until:
        raise ValidationFailed(f"the passes of {year} are valid until {scheme.valid_until}: choose a day before",
                               refusal="reminder_day_after_year", year=year, valid_until=scheme.valid_until,
                               errors={"send_on": ["after the year"]})
    moment = ReminderMoment(
        municipality_id=municipality.id, year=year, send_on=send_on, title=_title(title), under_cents=_under(under_cents),
        state=PLANNED, created_by_user_id=actor.user_id, created_by_email=actor.email, created_at=now_utc(),
    )
    session.add(moment)
    session.flush()
    record_audit(session, actor, "reminder.plan", "reminder_moment", moment.id, after=_snapshot(moment))
    return moment


def _snapshot(moment: ReminderMoment) -> dict[str, object]:
    return {"year": moment.year, "send_on": moment.send_on, "title": moment.title, "under_cents": moment.under_cents,
            "status": moment.state}


def _own_moment(session: Session, actor: Actor, moment_id: int, *, lock: bool = False) -> ReminderMoment:
    query = select(ReminderMoment).where(ReminderMoment.id == moment_id)
    if lock:
        query = query.with_for_update()
    moment = session.execute(query).scalar_one_or_none()
    if moment is None or moment.municipality_id != actor.municipality_id:
        raise NotFound("no such reminder", refusal="reminder_not_found")
    return moment


def cancel_moment(session: Session, actor: Actor, moment_id: int) -> ReminderMoment:
    """Drop a planned moment before it goes out (admin); audited as ``reminder.cancel``."""
    _municipality(session, actor, "admin")
    moment = _own_moment(session, actor, moment_id, lock=True)
    if moment.state != PLANNED:
        raise Conflict("this reminder was sent or cancelled", refusal="reminder_done")
    before = _snapshot(moment)
    moment.state = CANCELLED
    session.flush()
    record_audit(session, actor, "reminder.cancel", "reminder_moment", moment.id, before=before, after=_snapshot(moment))
    return moment


def _start(session: Session, actor: Actor, municipality: Municipality, moment: ReminderMoment) -> Job:
    job = start_job(session, actor, municipality, KIND, {"moment_id": moment.id, "year": moment.year})
    moment.job_id = job.id
    moment.started_at = moment.started_at or now_utc()
    session.flush()
    return job


def start_now(
    session: Session, actor: Actor, *, year: int, title: str, under_cents: int | None, today: date,
) -> Job:
    """A moment for today, started at once (admin). The caller enqueues the job after COMMIT."""
    moment = plan_moment(session, actor, year=year, send_on=today, title=title, under_cents=under_cents, today=today)
    municipality = _municipality(session, actor, "admin")
    moment.state = STARTED
    return _start(session, actor, municipality, moment)


def start_again(session: Session, actor: Actor, moment_id: int) -> Job:
    """Start a moment whose run failed once more: it writes to the addresses it did not reach."""
    municipality = _municipality(session, actor, "admin")
    moment = _own_moment(session, actor, moment_id, lock=True)
    job = session.get(Job, moment.job_id) if moment.job_id else None
    if moment.state != STARTED or job is None or job.state != FAILED:
        raise Conflict("only a reminder whose sending failed can start again", refusal="reminder_not_failed")
    return _start(session, actor, municipality, moment)


def is_due(moment: ReminderMoment, now: datetime) -> bool:
    local = now.astimezone(AMSTERDAM)
    return moment.state == PLANNED and (
        moment.send_on < local.date() or (moment.send_on == local.date() and local.time() >= time(SEND_HOUR))
    )


def start_due(db: Database, enqueue: Callable[[int], None], *, now: datetime) -> list[int]:
    """Start the run of every planned moment that is due (all municipalities); returns the jobs enqueued.

    Each moment in a transaction of its own: its claim (``planned`` → ``started``,
    only if still planned) and its job commit together, then the job is queued.
    """
    local = now.astimezone(AMSTERDAM)
    last_day = local.date() if local.time() >= time(SEND_HOUR) else date.fromordinal(local.date().toordinal() - 1)
    with db.read() as session:
        due = list(session.scalars(
            select(ReminderMoment.id).where(ReminderMoment.state == PLANNED, ReminderMoment.send_on <= last_day)
            .order_by(ReminderMoment.send_on, ReminderMoment.id)
        ))
    started = []
    for moment_id in due:
        with db.transaction() as session:
            claimed = rowcount(session.execute(
                update(ReminderMoment).where(ReminderMoment.id == moment_id, ReminderMoment.state == PLANNED)
                .values(state=STARTED, started_at=now)
            ))
            if not claimed:
                continue  # another worker was first, or it was cancelled meanwhile
            moment = session.get(ReminderMoment, moment_id)
            assert moment is not None
            municipality = session.get(Municipality, moment.municipality_id)
            assert municipality is not None
            # The planner's name on the job; an admin since gone still had the municipality plan it.
            actor = (load_actor(session, moment.created_by_user_id) if moment.created_by_user_id else None) or Actor(
                user_id=None, email=moment.created_by_email, role="admin",
                municipality_id=municipality.id, municipality_code=municipality.code,
            )
            if actor.role != "admin" or actor.municipality_id != municipality.id:
                actor = Actor(user_id=None, email=moment.created_by_email, role="admin",
                              municipality_id=municipality.id, municipality_code=municipality.code)
            job_id = _start(session, actor, municipality, moment).id
        enqueue(job_id)
        started.append(job_id)
    return started


def moments(session: Session, actor: Actor, year: int) -> list[MomentRow]:
    """The moments of ``year``, the next first among the planned, then the rest newest first."""
    municipality = _municipality(session, actor, "admin")
    rows = session.execute(
        select(ReminderMoment, Job).outerjoin(Job, Job.id == ReminderMoment.job_id)
        .where(ReminderMoment.municipality_id == municipality.id, ReminderMoment.year == year)
        .order_by(ReminderMoment.send_on.desc(), ReminderMoment.id.desc())
    ).all()
    return [MomentRow(moment, job) for moment, job in rows]


def preview(session: Session, actor: Actor, settings: Settings, criteria: Criteria) -> Preview:
    """How many households and addresses a run now would write to (admin)."""
    municipality = _municipality(session, actor, "admin")
    households = all_non_users(session, municipality.id, criteria, settings=settings)
    stopped = all_opted_out(session, municipality.id)
    addresses = {h.email for h in households if h.email}
    opted = {a for a in addresses if email_hash(settings, a) in stopped}
    return Preview(len(households), len(addresses - opted), sum(1 for h in households if not h.email), len(opted))


def sent_count(session: Session, moment_id: int) -> int:
    return int(session.scalar(
        select(func.count()).select_from(ReminderSend).where(ReminderSend.moment_id == moment_id, ReminderSend.outcome == SENT)
    ) or 0)


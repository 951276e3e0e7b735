"""Starting, running and reaping jobs.

The web asks :func:`start_job` (a row and an audit event in the request's
transaction; the id goes on the queue after COMMIT). A worker runs
:func:`run_job`: claim the row (only one worker ever gets it), run the
kind with a heartbeat going, and record the outcome. :func:`reap_stale`
gives a job whose worker died back to the queue.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.logins import load_actor
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..clock import now_utc
from ..config import Settings
from ..db import Database, rowcount
from ..errors import NotFound, PasdienstError
from ..municipalities.models import Municipality
from .context import JobContext
from .kinds import KINDS
from .models import DONE, FAILED, QUEUED, RUNNING, Job
from .queue import JobQueue

log = logging.getLogger(__name__)

#: A worker that has not shown life for this long is taken for dead.
STALE_AFTER = timedelta(seconds=60)
#: Starts (the first and the reaper's) before a job is given up as failed.
MAX_ATTEMPTS = 3
HEARTBEAT_SECONDS = 5.0




def start_job(
    session: Session, actor: Actor, municipality: Municipality, kind: str, params: dict[str, Any] | None = None
) -> Job:
    """A queued job for ``actor``'s municipality; the caller enqueues ``job.id`` after COMMIT."""
    ensure_role(actor, "admin")
    ensure_municipality(actor, municipality.id)
    if kind not in KINDS:
        raise NotFound(f"no job kind {kind!r}")
    job = Job(
        municipality_id=municipality.id, kind=kind, params=dict(params or {}), state=QUEUED,
        requested_by_user_id=actor.user_id, requested_by_email=actor.email, attempts=0, created_at=now_utc(),
    )
    session.add(job)
    session.flush()
    record_audit(session, actor, "job.start", "job", job.id, after={"kind": kind, **job.params},
                 municipality_id=municipality.id)
    return job


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.municipality_id != actor.municipality_id:
        raise NotFound(f"no job {job_id}")
    return job


def recent_jobs(session: Session, actor: Actor, limit: int = 30) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(Job.municipality_id == actor.municipality_id).order_by(Job.id.desc()).limit(limit)
        )
    )


def last_letters(session: Session, municipality_id: int, year: int) -> Job | None:
    """The finished letters run for ``year`` that covered the newest passes
    (the highest ``through_pass_id``; the newest such run on a tie): "only
    new" prints the passes after it."""
    best: Job | None = None
    for job in session.scalars(
        select(Job).where(Job.municipality_id == municipality_id, Job.kind == "letters", Job.state == DONE)
        .order_by(Job.id)
    ):
        if job.params.get("year") != year or "through_pass_id" not in (job.summary or {}):
            continue
        if best is None or printed_through(job) >= printed_through(best):
            best = job
    return best


def printed_through(job: Job) -> int:
    """The highest pass id a letters run covered (0: none)."""
    return int((job.summary or {}).get("through_pass_id") or 0)


def _claim(db: Database, job_id: int) -> Job | None:
    with db.transaction() as session:
        claimed = rowcount(session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == QUEUED)
            .values(state=RUNNING, attempts=Job.attempts + 1, started_at=now_utc())
        ))
        return session.get(Job, job_id) if claimed else None


def _finish(db: Database, job_id: int, **values: Any) -> None:
    with db.transaction() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.state == RUNNING).values(finished_at=now_utc(), **values)
        )


@contextmanager
def _heartbeat(queue: JobQueue, job_id: int) -> Iterator[None]:
    """Beat every few seconds while the job runs, also while it sits in one long statement."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                queue.beat(job_id)
            except Exception:  # a missed beat is not worth killing the job for
                log.warning("job %s: heartbeat failed", job_id, exc_info=True)

    queue.beat(job_id)
    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_job(db: Database, settings: Settings, queue: JobQueue, job_id: int, *, today: date) -> str | None:
    """Run one job to its end; returns its final state, or None when another worker has it."""
    job = _claim(db, job_id)
    if job is None:
        return None
    with db.read() as session:
        municipality = session.get(Municipality, job.municipality_id)
        assert municipality is not None
        actor = (load_actor(session, job.requested_by_user_id) if job.requested_by_user_id else None) or Actor(
            user_id=None, email=job.requested_by_email, role="admin",
            municipality_id=municipality.id, municipality_code=municipality.code,
        )
    ctx = JobContext(
        db=db, settings=settings, job_id=job.id, municipality_code=municipality.code, params=dict(job.params),
        actor=actor, today=today, summary=dict(job.summary or {}),
        progress=lambda done, total, step: queue.report(job_id, done, total, step),
    )
    log.info("job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
    try:
        with _heartbeat(queue, job.id):
            KINDS[job.kind](ctx)
    except PasdienstError as exc:
        # A refusal (the fund falls short, the year is not over): the same
        # again would be refused again, so no retry.
        _finish(db, job.id, state=FAILED, error_code=exc.code, error_detail=exc.message)
        log.info("job %s refused: %s", job.id, exc.code)
        return FAILED
    except Exception:
        log.exception("job %s failed", job.id)
        _finish(db, job.id, state=FAILED, error_code="internal_error", error_detail="unexpected error; see the worker log")
        return FAILED
    file_values: dict[str, Any] = {}
    if ctx.file:
        file_values = dict(file_name=ctx.file[0], file_mime=ctx.file[1], file_data=ctx.file[2])
    _finish(db, job.id, state=DONE, summary=ctx.summary, **file_values)
    log.info("job %s done", job.id)
    return DONE


def reap_stale(db: Database, queue: JobQueue, *, stale_after: timedelta = STALE_AFTER) -> list[int]:
    """Queue again the jobs whose worker stopped beating (a crash), or fail
    them after ``MAX_ATTEMPTS``; queue jobs the web never got onto the queue.
    Every kind is all-or-nothing per transaction, so running one again is safe."""
    now = now_utc()
    requeued: list[int] = []
    with db.read() as session:
        candidates = session.execute(
            select(Job.id, Job.state, Job.attempts, Job.created_at).where(Job.state.in_((QUEUED, RUNNING)))
        ).all()
    for job_id, state, attempts, created_at in candidates:
        progress = queue.progress(job_id)
        if state == QUEUED:
            if not queue.was_enqueued(job_id) and now - created_at > stale_after:
                queue.enqueue(job_id)
                requeued.append(job_id)
            continue
        if progress is not None and now.timestamp() - progress.beat < stale_after.total_seconds():
            continue
        with db.transaction() as session:
            if attempts >= MAX_ATTEMPTS:
                session.execute(
                    update(Job).where(Job.id == job_id, Job.state == RUNNING).values(
                        state=FAILED, finished_at=now, error_code="interrupted",
                        error_detail=f"the worker stopped {attempts} times during this job",
                    )
                )
                continue
            moved = rowcount(session.execute(
                update(Job).where(Job.id == job_id, Job.state == RUNNING).values(state=QUEUED)
            ))
        if moved:
            log.warning("job %s: worker gone, queued again", job_id)
            queue.enqueue(job_id)
            requeued.append(job_id)
    return requeued

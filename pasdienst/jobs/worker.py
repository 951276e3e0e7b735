"""``pasdienst worker``: a huey consumer that runs the jobs, and reaps those of dead workers."""
from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab
from huey.consumer import Consumer

from ..clock import now as clock_now, today
from ..config import Settings
from ..db import Database
from ..reminders.runs import start_due
from .queue import JobQueue
from .services import STALE_AFTER, reap_stale, run_job

log = logging.getLogger(__name__)


def make_consumer(
    settings: Settings, db: Database, *, threads: int = 1, stale_after: timedelta = STALE_AFTER
) -> Consumer:
    queue: JobQueue

    def run(job_id: int) -> None:
        # The date per job, not per process: a worker runs for months.
        run_job(db, settings, queue, job_id, today=today(settings.today))

    queue = JobQueue(settings, runner=run)

    @queue.huey.periodic_task(crontab(minute="*"), name="pasdienst.jobs.reap")
    def reap() -> None:
        reap_stale(db, queue, stale_after=stale_after)

    @queue.huey.periodic_task(crontab(minute="*"), name="pasdienst.reminders.due")
    def reminders_due() -> None:
        # Planned reminder moments whose day (and hour) has come: each starts its job once.
        started = start_due(db, queue.enqueue, now=clock_now(settings.today))
        if started:
            log.info("reminder moments due: jobs %s started", started)

    @queue.huey.on_startup()
    def reap_at_start() -> None:
        requeued = reap_stale(db, queue, stale_after=stale_after)
        if requeued:
            log.warning("queued again after a worker stopped: jobs %s", requeued)

    # max_delay: an idle SQLite-backed worker looks for work at least every second.
    return queue.huey.create_consumer(workers=threads, worker_type="thread", periodic=True, max_delay=1.0)

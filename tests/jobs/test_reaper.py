"""The reaper: a job whose worker died is queued again, a hopeless one fails, a lost message is sent again."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from pasdienst.clock import now_utc
from pasdienst.jobs.models import FAILED, QUEUED, RUNNING, Job
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import MAX_ATTEMPTS, reap_stale, start_job
from pasdienst.municipalities.models import Municipality
from pasdienst.access.accounts import actor_for_email
from tests.factories import make_user

from .conftest import prepare

pytestmark = pytest.mark.money


@pytest.fixture
def queue(job_settings, tmp_path) -> JobQueue:
    return JobQueue(replace(job_settings, queue_url=f"sqlite:///{tmp_path / 'queue.db'}"))


def _job(db, *, state: str, attempts: int, age: timedelta = timedelta(0)) -> int:
    admin = make_user(db, "admin", municipality="testdorp")
    with db.transaction() as s:
        actor = actor_for_email(s, admin.email)
        job = start_job(s, actor, s.get(Municipality, actor.municipality_id), "issue_passes", {"year": 2027})
        s.execute(update(Job).where(Job.id == job.id).values(state=state, attempts=attempts, created_at=now_utc() - age))
        return job.id


def _state(db, job_id: int) -> tuple[str, str | None]:
    with db.read() as s:
        job = s.get(Job, job_id)
        return job.state, job.error_code


def test_a_running_job_without_a_heartbeat_is_queued_again(db, job_settings, queue):
    prepare(db, job_settings)
    job_id = _job(db, state=RUNNING, attempts=1)
    assert reap_stale(db, queue, stale_after=timedelta(seconds=1)) == [job_id]
    assert _state(db, job_id) == (QUEUED, None)


def test_a_running_job_whose_worker_still_beats_is_left_alone(db, job_settings, queue):
    prepare(db, job_settings)
    job_id = _job(db, state=RUNNING, attempts=1)
    queue.beat(job_id)
    assert reap_stale(db, queue, stale_after=timedelta(seconds=60)) == []
    assert _state(db, job_id) == (RUNNING, None)


def test_a_job_whose_worker_died_every_time_fails_instead_of_looping(db, job_settings, queue):
    prepare(db, job_settings)
    job_id = _job(db, state=RUNNING, attempts=MAX_ATTEMPTS)
    assert reap_stale(db, queue, stale_after=timedelta(seconds=1)) == []
    assert _state(db, job_id) == (FAILED, "interrupted")


def test_a_job_that_never_reached_the_queue_is_sent_again(db, job_settings, queue):
    prepare(db, job_settings)
    lost = _job(db, state=QUEUED, attempts=0, age=timedelta(minutes=5))
    fresh = _job(db, state=QUEUED, attempts=0)
    assert reap_stale(db, queue, stale_after=timedelta(seconds=60)) == [lost]
    assert queue.was_enqueued(lost) and not queue.was_enqueued(fresh)

"""``pasdienst worker`` as a real process: it runs the jobs the web starts, and a crash leaves nothing half done.

SQLite runs with the embedded queue (a SQLite file), PostgreSQL with Redis,
as in production.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pasdienst.jobs.models import DONE, RUNNING, Job
from pasdienst.ledger import verify
from pasdienst.wallet.models import ChildPass, PassImage
from pasdienst.web.app import create_app
from tests.factories import login_as
from tests.admin.conftest import post
from tests.conftest import TEST_KEY

from .conftest import TODAY, prepare

pytestmark = [pytest.mark.money, pytest.mark.slow]


@pytest.fixture
def queue_url(backend: str, tmp_path: Path) -> str:
    if backend == "postgresql":
        return f"redis://127.0.0.1:6379/0?queue=pasdienst-test-{uuid.uuid4().hex}"
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def worker_settings(job_settings, queue_url):
    return replace(job_settings, queue_url=queue_url)


@pytest.fixture
def app(worker_settings, db):
    application = create_app(worker_settings, db=db)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def start_worker(worker_settings, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "PASDIENST_DATABASE_URL": worker_settings.database_url,
        "PASDIENST_SECRET_KEY": TEST_KEY,
        "PASDIENST_INSTANCE_PATH": str(worker_settings.instance_path),
        "PASDIENST_BASE_URL": worker_settings.base_url,
        "PASDIENST_QUEUE_URL": worker_settings.queue_url,
        "PASDIENST_TODAY": TODAY.isoformat(),
    }

    def start(fault: str | None = None) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "pasdienst.cli", "worker", "--stale-after", "1"],
            env={**env, **({"PASDIENST_FAULT": fault} if fault else {})}, stdout=log, stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(what: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _job(db) -> Job:
    with db.read() as s:
        return s.scalars(select(Job)).one()


def _count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_the_worker_runs_an_issue_started_from_the_web(db, worker_settings, client, start_worker):
    prepare(db, worker_settings, children=25)
    login_as(client, "admin", municipality="testdorp")
    start_worker()
    location = post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven").headers["Location"]

    _wait_for(lambda: _job(db).finished)
    job = _job(db)
    assert (job.state, job.attempts, job.summary["issued"]) == (DONE, 1, 25)
    assert _count(db, ChildPass) == 25 and _count(db, PassImage) == 25
    assert 'id="job-issued">25<' in client.get(location).get_data(as_text=True)
    with db.read() as s:
        assert verify(s).ok


def test_the_worker_makes_the_letters_pdf_started_from_the_web(db, worker_settings, client, start_worker):
    prepare(db, worker_settings, children=12)
    login_as(client, "admin", municipality="testdorp")
    start_worker()
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    _wait_for(lambda: _job(db).finished)
    location = post(client, "/admin/brieven", {"year": "2027", "welke": "alle"}, token_from="/admin/brieven").headers["Location"]

    def letters() -> Job:
        with db.read() as s:
            return s.scalars(select(Job).where(Job.kind == "letters")).one()

    _wait_for(lambda: letters().finished)
    assert (letters().state, letters().summary["letters"]) == (DONE, 12)
    pdf = client.get(f"{location}/bestand")
    assert pdf.mimetype == "application/pdf" and len(PdfReader(io.BytesIO(pdf.data)).pages) == 12


@pytest.mark.parametrize("fault", ["jobs.issue.before_commit", "jobs.qr.after_first_batch"])
def test_a_worker_killed_mid_job_leaves_nothing_half_done_and_the_next_worker_finishes_it(
    db, worker_settings, client, start_worker, fault
):
    children = 30
    prepare(db, worker_settings, children=children)
    login_as(client, "admin", municipality="testdorp")
    first = start_worker(fault)  # SIGKILLs itself at that point, like an OOM kill or a power cut
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    assert first.wait(90) == -signal.SIGKILL

    # All or nothing: no pass at all (killed before COMMIT) or every pass (killed while drawing QR codes).
    passes_after_crash = 0 if fault == "jobs.issue.before_commit" else children
    assert _count(db, ChildPass) == passes_after_crash
    assert _count(db, PassImage) == 0
    assert _job(db).state == RUNNING
    time.sleep(1.2)  # the dead worker's heartbeat goes stale

    start_worker()
    _wait_for(lambda: _job(db).finished)
    job = _job(db)
    assert (job.state, job.attempts) == (DONE, 2)
    assert job.summary["issued"] == children  # also when the interrupted attempt had committed them
    assert _count(db, ChildPass) == children and _count(db, PassImage) == children
    with db.read() as s:
        assert s.scalar(select(func.count(func.distinct(ChildPass.child_id)))) == children
        assert verify(s).ok

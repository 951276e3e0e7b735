"""Passen uitgeven from the web: a preview that names the cost and any shortfall, then a background job."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from pasdienst.access.models import AuditEvent
from pasdienst.jobs.models import DONE, FAILED, QUEUED, Job
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import run_job
from pasdienst.wallet.models import ChildPass, PassImage
from tests.factories import login_as
from tests.admin.conftest import post

from .conftest import TODAY, prepare

pytestmark = pytest.mark.money


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _run_queued(db, settings) -> list[str | None]:
    """What a worker does with every queued job (the worker process itself is tested in test_worker.py)."""
    queue = JobQueue(settings)
    with db.read() as s:
        ids = list(s.scalars(select(Job.id).where(Job.state == QUEUED).order_by(Job.id)))
    return [run_job(db, settings, queue, job_id, today=TODAY) for job_id in ids]


def test_the_preview_counts_the_children_without_a_pass_and_the_money_they_need(db, job_settings, client, admin):
    prepare(db, job_settings, children=3)
    page = _text(client.get("/admin/passen-uitgeven"))
    assert 'id="issue-passes">3<' in page
    assert "Totaal uit het fonds" in page and "3 passen uitgeven" in page
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ChildPass)) == 0  # a preview writes nothing


def test_a_fund_that_falls_short_is_named_and_offers_no_issue_button(db, job_settings, client, admin):
    prepare(db, job_settings, children=3, budget="100.00")
    page = _text(client.get("/admin/passen-uitgeven?jaar=2027"))
    assert "Het fonds komt € " in page and "tekort" in page
    assert "passen uitgeven</button>" not in page


def test_issuing_runs_as_a_job_whose_page_shows_the_outcome(db, job_settings, client, admin):
    prepare(db, job_settings, children=3)
    response = post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert re.fullmatch(r"/admin/taken/\d+", job_url)
    waiting = _text(client.get(job_url))
    assert "De taak wacht op de verwerker." in waiting and "job.js" in waiting
    assert client.get(f"{job_url}/stand").get_json() == {
        "state": "queued", "finished": False, "done": 0, "total": 0, "status_text": "De taak wacht op de verwerker.",
    }

    assert _run_queued(db, job_settings) == [DONE]

    done = _text(client.get(job_url))
    assert 'id="job-issued">3<' in done and "job.js" not in done
    assert client.get(f"{job_url}/stand").get_json()["finished"] is True
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ChildPass)) == 3
        assert s.scalar(select(func.count()).select_from(PassImage)) == 3  # the QR codes are rendered too
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(("job.start", "passes.issue")))).all()
        assert sorted(events) == ["job.start", "passes.issue"]
        assert s.scalar(select(AuditEvent.actor_email).where(AuditEvent.action == "passes.issue")) == admin.email
    assert "Alle kinderen met recht op een pas voor 2027 hebben er al een" in _text(client.get("/admin/passen-uitgeven"))


def test_children_imported_later_get_theirs_with_the_same_button(db, job_settings, client, admin):
    prepare(db, job_settings, children=2)
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    _run_queued(db, job_settings)
    prepare(db, job_settings, children=5)  # three more children in the next import
    assert 'id="issue-passes">3<' in _text(client.get("/admin/passen-uitgeven"))
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    assert _run_queued(db, job_settings) == [DONE]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ChildPass)) == 5


def test_a_refused_run_fails_in_dutch_and_issues_nothing(db, job_settings, client, admin):
    prepare(db, job_settings, children=3)
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    # Before the worker gets to it, a large import makes the run cost more than the fund holds.
    prepare(db, job_settings, children=200, budget="0.01")
    assert _run_queued(db, job_settings) == [FAILED]
    with db.read() as s:
        job = s.scalars(select(Job)).one()
        assert job.error_code == "insufficient_budget"
        assert s.scalar(select(func.count()).select_from(ChildPass)) == 0
    page = _text(client.get(f"/admin/taken/{job.id}"))
    assert "Er staat te weinig geld in het fonds. Er is niets uitgegeven" in page
    assert "insufficient" not in page


def test_a_year_without_a_scheme_cannot_be_started(db, job_settings, client, admin):
    prepare(db, job_settings, children=1)
    response = post(client, "/admin/passen-uitgeven", {"year": "2031"}, token_from="/admin/passen-uitgeven")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/passen-uitgeven")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_jobs_are_private_to_their_municipality(db, job_settings, client, admin):
    prepare(db, job_settings, children=1)
    location = post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven").headers["Location"]
    login_as(client, "admin", municipality="elders")
    assert client.get(location).status_code == 404
    assert "Er zijn nog geen taken gestart." in _text(client.get("/admin/taken"))


def test_a_running_job_shows_its_step_and_count_from_the_worker(db, job_settings, client, admin):
    prepare(db, job_settings, children=1)
    job_url = post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven").headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    with db.transaction() as s:
        s.execute(Job.__table__.update().values(state="running", attempts=1))
    JobQueue(job_settings).report(job_id, 1500, 30000, "issue")

    assert client.get(f"{job_url}/stand").get_json()["status_text"] == "Passen uitgeven: 1.500 van 30.000"
    page = _text(client.get(job_url))
    assert '<progress id="job-progress" value="1500" max="30000"' in page

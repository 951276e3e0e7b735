"""Jaarafsluiting from the web: a preview, a typed confirmation, then the year closes once, as a background job."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from pasdienst import books, ledger
from pasdienst.access.models import AuditEvent
from pasdienst.access.logins import load_actor
from pasdienst.jobs import services as jobs
from pasdienst.jobs.models import DONE, FAILED, QUEUED, Job
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import run_job
from pasdienst.ledger import verify
from pasdienst.labels import euros
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet.models import ChildPass, Voucher
from pasdienst.wallet.services import block_pass, issue_passes
from pasdienst.wallet.yearend import preview_year_end
from tests.factories import api_headers, login_as
from tests.admin.conftest import flashes, post
from tests.text import spaced

from .conftest import TODAY, prepare

pytestmark = pytest.mark.money

PAGE = "/admin/jaarafsluiting"
AFTER = date(2028, 1, 2)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _on(app: Flask, day: date) -> None:
    """Move the server's "today" (PASDIENST_TODAY) to ``day``."""
    app.extensions["pasdienst.settings"] = replace(app.extensions["pasdienst.settings"], today=day)


def _issued(db, settings, *, children: int = 4) -> None:
    """Children with 2027 passes; one pass blocked, some money spent."""
    prepare(db, settings, children=children)
    with db.transaction() as s:
        issue_passes(s, "testdorp", 2027, settings=settings, today=TODAY)
    with db.transaction() as s:
        first, second = s.scalars(select(ChildPass).order_by(ChildPass.id).limit(2)).all()
        block_pass(s, first.pass_number, reason="kwijt")
        voucher = s.scalars(select(Voucher).where(Voucher.pass_id == second.id).order_by(Voucher.id)).first()
        shop = ledger.open_account(s, key=books.merchant_key("testdorp", 1), kind=books.MERCHANT_PAYABLE, ledger="testdorp")
        ledger.transfer(s, kind=books.REDEEM, source=voucher.account_id, destination=shop, amount=1234)


def _run_queued(db, settings, today: date) -> list[str | None]:
    queue = JobQueue(settings)
    with db.read() as s:
        ids = list(s.scalars(select(Job.id).where(Job.state == QUEUED).order_by(Job.id)))
    return [run_job(db, settings, queue, job_id, today=today) for job_id in ids]


def _start_directly(db, admin) -> int:
    """A year-end job started without the page's checks (as a second tab or a stale form would)."""
    with db.transaction() as s:
        municipality = s.scalars(select(Municipality).where(Municipality.code == "testdorp")).one()
        return jobs.start_job(s, load_actor(s, admin.id), municipality, "year_end", {"year": 2027}).id


def _state(db) -> tuple:
    with db.read() as s:
        return (
            sorted(s.scalars(select(ChildPass.status)).all()),
            budget_figures(s, "testdorp").available,
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "year.close")),
        )


def test_before_the_year_is_over_the_page_refuses_in_dutch_and_shows_no_confirmation(app, db, job_settings, client, admin):
    _issued(db, job_settings)
    page = _text(client.get(PAGE))
    assert "Het jaar 2027 is nog niet voorbij" in page and "vanaf 1 januari 2028" in page
    assert 'name="confirm"' not in page and "afsluiten</button>" not in page
    assert 'id="yearend-passes">4<' in page  # what would expire, for information

    refused = post(client, PAGE, {"year": "2027", "confirm": "2027"}, token_from=PAGE)
    assert refused.status_code == 302 and refused.headers["Location"] == f"{PAGE}?jaar=2027"
    assert "Het jaar is nog niet voorbij" in flashes(client)[0]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_a_job_started_before_the_year_is_over_fails_in_dutch_and_changes_nothing(app, db, job_settings, client, admin):
    _issued(db, job_settings)
    before = _state(db)
    job_id = _start_directly(db, admin)
    assert _run_queued(db, job_settings, TODAY) == [FAILED]
    with db.read() as s:
        assert s.get(Job, job_id).error_code == "year_not_over"
    assert _state(db) == before
    page = _text(client.get(f"/admin/taken/{job_id}"))
    assert "Het jaar is nog niet voorbij: de passen zijn nog geldig. Er is niets veranderd." in page
    assert "year_not_over" not in page and "valid until" not in page


def test_the_preview_names_what_expires_and_returns_and_closing_moves_exactly_that(app, db, job_settings, client, admin):
    _issued(db, job_settings)
    _on(app, AFTER)
    with db.read() as s:
        preview = preview_year_end(s, "testdorp", 2027, today=AFTER)
        available_before = budget_figures(s, "testdorp").available
    assert preview.refusal is None and preview.passes_expiring == 4
    page = _text(client.get(PAGE))
    assert "Let op: dit kunt u niet ongedaan maken." in page
    assert 'id="yearend-passes">4<' in page
    assert f'id="yearend-total">{_euros(preview.total_cents)}<' in page
    assert "Tegoed sport en cultuur" in page and "Cheque kleding en schoenen" in page
    assert 'label for="confirm"' in page and "Jaar 2027 afsluiten</button>" in page

    response = post(client, PAGE, {"year": "2027", "confirm": "2027"}, token_from=PAGE)
    assert response.status_code == 302 and re.fullmatch(r"/admin/taken/\d+", response.headers["Location"])
    job_url = response.headers["Location"]
    assert "Jaarafsluiting 2027" in _text(client.get(job_url))
    assert _run_queued(db, job_settings, AFTER) == [DONE]

    with db.read() as s:
        job = s.scalars(select(Job)).one()
        assert job.summary["passes_expired"] == preview.passes_expiring
        assert job.summary["returned_cents"] == preview.total_cents
        assert job.summary["vouchers_emptied"] == preview.vouchers
        assert [tuple(line) for line in job.summary["lines"]] == [
            (line.kind, line.category, line.vouchers, line.cents) for line in preview.lines
        ]
        assert set(s.scalars(select(ChildPass.status))) == {"expired"}
        assert budget_figures(s, "testdorp").available == available_before + preview.total_cents
        report = verify(s)
        assert report.ok, [str(p) for p in report.problems]
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "year.close")).one()
        assert event.actor_email == admin.email
        assert event.after == {"year": 2027, "passes_expired": 4, "vouchers_emptied": preview.vouchers,
                               "returned_cents": preview.total_cents}
    done = _text(client.get(job_url))
    assert "Het jaar 2027 is afgesloten." in done
    assert f'id="job-returned">{_euros(preview.total_cents)}<' in done and 'id="job-expired">4<' in done


@pytest.mark.parametrize("typed", ["", "2026", "２０２７", "ja"])
def test_without_the_typed_year_nothing_starts(app, db, job_settings, client, admin, typed):
    _issued(db, job_settings, children=2)
    _on(app, AFTER)
    response = post(client, PAGE, {"year": "2027", "confirm": typed}, token_from=PAGE)
    assert response.status_code == 302 and response.headers["Location"] == f"{PAGE}?jaar=2027"
    assert "Typ het jaartal 2027" in flashes(client)[0]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert s.scalar(select(func.count()).select_from(ChildPass).where(ChildPass.status == "expired")) == 0


def test_a_second_close_is_refused_on_the_page_and_in_the_job(app, db, job_settings, client, admin):
    _issued(db, job_settings, children=2)
    _on(app, AFTER)
    # Two starts before a worker gets to either (two tabs): the first closes the year, the second is refused.
    post(client, PAGE, {"year": "2027", "confirm": "2027"}, token_from=PAGE)
    post(client, PAGE, {"year": "2027", "confirm": "2027"}, token_from=PAGE)
    assert _run_queued(db, job_settings, AFTER) == [DONE, FAILED]
    with db.read() as s:
        first, second = s.scalars(select(Job).order_by(Job.id)).all()
        assert second.error_code == "year_closed"
    after_first = _state(db)
    assert after_first[2] == 1  # one year.close event

    page = _text(client.get(PAGE))
    assert "Het jaar 2027 is al afgesloten." in page and 'name="confirm"' not in page
    refused = post(client, PAGE, {"year": "2027", "confirm": "2027"}, token_from=PAGE)
    assert refused.status_code == 302 and "Dit jaar is al afgesloten" in flashes(client)[0]
    _start_directly(db, admin)
    assert _run_queued(db, job_settings, AFTER) == [FAILED]
    assert _state(db) == after_first
    assert "Mislukt: Dit jaar is al afgesloten. Er is niets veranderd." in _text(client.get(f"/admin/taken/{second.id}"))
    with db.read() as s:
        assert verify(s).ok


def test_a_retry_after_the_close_was_committed_does_not_close_again(app, db, job_settings, client, admin):
    _issued(db, job_settings, children=2)
    job_id = _start_directly(db, admin)
    assert _run_queued(db, job_settings, AFTER) == [DONE]
    # The worker died after COMMIT but before marking the job done: the reaper queues it again.
    with db.transaction() as s:
        s.execute(update(Job).where(Job.id == job_id).values(state=QUEUED))
    before = _state(db)
    assert _run_queued(db, job_settings, AFTER) == [DONE]
    assert _state(db) == before


def test_a_year_without_passes_has_nothing_to_close(app, db, job_settings, client, admin):
    prepare(db, job_settings, children=2)
    _on(app, AFTER)
    page = _text(client.get(PAGE))
    assert "Er zijn voor 2027 geen passen uitgegeven. Er is niets af te sluiten." in page
    assert 'name="confirm"' not in page
    _start_directly(db, admin)
    assert _run_queued(db, job_settings, AFTER) == [FAILED]


def test_a_bad_year_in_the_address_or_the_form_is_no_error(app, db, job_settings, client, admin):
    _issued(db, job_settings, children=2)
    for value in ("-1", "99999", "abc", "２０２７", "2031"):
        assert client.get(PAGE, query_string={"jaar": value}).status_code == 200, value
        response = post(client, PAGE, {"year": value, "confirm": value}, token_from=PAGE)
        assert response.status_code == 302, value
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.parametrize("role", ["caseworker", "finance", "merchant"])
def test_only_admins_close_a_year(app, db, job_settings, client, role):
    _issued(db, job_settings, children=2)
    _on(app, AFTER)
    login_as(client, role, municipality="testdorp")
    assert client.get(PAGE).status_code == 403
    # With a valid CSRF token, so that only the role decides.
    refused = client.post(PAGE, data={"year": "2027", "confirm": "2027"}, headers=api_headers(client))
    assert refused.status_code == 403
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert s.scalar(select(func.count()).select_from(ChildPass).where(ChildPass.status == "expired")) == 0


def test_the_nav_offers_the_year_end_to_admins_only(app, db, job_settings, client, admin):
    prepare(db, job_settings, children=1)
    assert 'href="/admin/jaarafsluiting"' in client.get("/admin").get_data(as_text=True)
    login_as(client, "caseworker", municipality="testdorp")
    assert 'href="/admin/jaarafsluiting"' not in client.get("/admin").get_data(as_text=True)


def _euros(cents: int) -> str:
    return spaced(euros(cents))  # as _text reads the page

"""``/admin/taken`` (the jobs and their progress), ``/admin/passen-uitgeven``
(preview, then issue as a job), ``/admin/brieven`` (the letters PDF as a
job, and the mail-merge CSV) and ``/admin/jaarafsluiting`` (preview, a typed
confirmation, then close the year as a job)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import labels
from ..access.web import current_actor, requires
from ..clock import AMSTERDAM, today as clock_today
from ..config import Settings
from ..csvsafe import csv_bytes
from ..db import Database
from ..errors import PasdienstError
from ..municipalities.models import Municipality
from ..wallet.issue_preview import preview_issue
from ..wallet.letters import count_letters
from ..wallet.models import Scheme
from ..wallet.services import EXPORT_COLUMNS, export_rows
from ..wallet.yearend import preview_year_end
from ..web import dutch, parsing
from ..web.extensions import get_db, get_settings
from ..web.dutch import Notice, notice
from ..web.writes import refused, tell, write
from . import services
from .models import DONE, QUEUED, RUNNING, Job
from .queue import JobQueue, Progress

bp = Blueprint("jobs", __name__)
QUEUE_EXTENSION = "pasdienst.jobs"



def _db() -> Database:
    return get_db(current_app)


def _settings() -> Settings:
    return get_settings(current_app)


def job_queue(app: Flask) -> JobQueue:
    """The app's queue, opened on first use (a page that starts no job never touches it)."""
    queue = app.extensions.get(QUEUE_EXTENSION)
    if queue is None:
        queue = app.extensions[QUEUE_EXTENSION] = JobQueue(get_settings(app))
    return queue


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(
        template, actor=current_actor(), amsterdam=AMSTERDAM, kind_titles=labels.JOB_KIND_TITLES,
        state_titles=labels.JOB_STATE_TITLES, step_titles=labels.JOB_STEP_TITLES, failure_text=dutch.job_failure,
        kind_words=labels.VOUCHER_KIND_PLURALS,
        **context,
    ), status


@bp.get("/admin/taken")
@requires("admin")
def jobs() -> ResponseReturnValue:
    with _db().read() as session:
        rows = services.recent_jobs(session, current_actor())
    return _page("admin/jobs.html", jobs=rows, active="jobs")


class _Said(Exception):
    """A job not started, for a reason the page says (``text``, from the catalogue) on ``back``; nothing was written."""

    def __init__(self, said: Notice | str, back: str) -> None:
        text = dutch.told(said) if isinstance(said, Notice) else said
        super().__init__(text)
        self.text, self.back = text, back


def _municipality(session: Session, municipality_id: int | None) -> Municipality:
    municipality = session.get(Municipality, municipality_id)
    assert municipality is not None
    return municipality


def _start(work: Callable[[Session], int], *, back: str) -> ResponseReturnValue:
    """Start a job (``work`` writes its row and returns its id), then queue it and show its page."""
    try:
        job_id = write(work)
    except _Said as said:
        flash(said.text, "error")
        return redirect(said.back)
    except PasdienstError as exc:
        return refused(exc, back)
    # After COMMIT: a worker must find the row the message names.
    job_queue(current_app).enqueue(job_id)
    return redirect(f"/admin/taken/{job_id}")


def status_text(state: str, progress: Progress | None) -> str:
    """One Dutch line on how far a job is, for the page and its progress poller."""
    if state == QUEUED:
        return dutch.told(notice("job_queued"))
    if state != RUNNING:
        return labels.JOB_STATE_TITLES[state].capitalize() + "."
    step = labels.JOB_STEP_TITLES.get(progress.step) if progress and progress.step else None
    if progress and progress.total:
        counted = {"done": labels.number(progress.done), "total": labels.number(progress.total)}
        return dutch.told(notice("job_step_counted", step=step, **counted) if step else notice("job_counted", **counted))
    return dutch.told(notice("job_step_busy", step=step) if step else notice("job_busy"))


def _job_and_progress(job_id: int) -> tuple[Job, Progress | None]:
    with _db().read() as session:
        found = services.get_job(session, current_actor(), job_id)
    return found, (job_queue(current_app).progress(found.id) if found.state == RUNNING else None)


@bp.get("/admin/taken/<int:job_id>")
@requires("admin")
def job(job_id: int) -> ResponseReturnValue:
    found, progress = _job_and_progress(job_id)
    return _page("admin/job.html", job=found, progress=progress, status_text=status_text(found.state, progress), active="jobs")


@bp.get("/admin/taken/<int:job_id>/stand")
@requires("admin")
def job_status(job_id: int) -> ResponseReturnValue:
    found, progress = _job_and_progress(job_id)
    return {
        "state": found.state, "finished": found.finished,
        "done": progress.done if progress else 0, "total": progress.total if progress else 0,
        "status_text": status_text(found.state, progress),
    }


@bp.get("/admin/taken/<int:job_id>/bestand")
@requires("admin")
def job_file(job_id: int) -> ResponseReturnValue:
    with _db().read() as session:
        found = services.get_job(session, current_actor(), job_id)
        data = found.file_data
    if found.state != DONE or data is None:
        tell(notice("job_no_file"), "error")
        return redirect(f"/admin/taken/{job_id}")
    response = Response(data, mimetype=found.file_mime or "application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _scheme_years(session: Any, municipality_id: int) -> list[int]:
    return list(session.scalars(select(Scheme.year).where(Scheme.municipality_id == municipality_id).order_by(Scheme.year)))


def _chosen_year(years: list[int], today_year: int) -> int | None:
    """The year the page shows: ``?jaar=`` when it has a scheme, else the current or next one, else the last."""
    wanted = parsing.whole_number(request.args.get("jaar"), low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    if wanted in years:
        return wanted
    current = [y for y in years if y >= today_year]
    return current[0] if current else (years[-1] if years else None)


@bp.get("/admin/passen-uitgeven")
@requires("admin")
def issue_preview() -> ResponseReturnValue:
    actor = current_actor()
    assert actor.municipality_id is not None and actor.municipality_code is not None  # an admin's own
    today = clock_today(_settings().today)
    with _db().read() as session:
        years = _scheme_years(session, actor.municipality_id)
        year = _chosen_year(years, today.year)
        preview = (
            preview_issue(session, actor.municipality_code, year, settings=_settings(), today=today)
            if year is not None else None
        )
    return _page("admin/issue.html", years=years, year=year, preview=preview, active="issue")


@bp.post("/admin/passen-uitgeven")
@requires("admin")
def issue_start() -> ResponseReturnValue:
    actor = current_actor()
    raw = (request.form.get("year") or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        tell(notice("year_missing"), "error")
        return redirect("/admin/passen-uitgeven")

    def work(session: Session) -> int:
        municipality = _municipality(session, actor.municipality_id)
        if int(raw) not in _scheme_years(session, municipality.id):
            raise _Said(notice("scheme_missing_for_year", year=raw), "/admin/passen-uitgeven")
        return services.start_job(session, actor, municipality, "issue_passes", {"year": int(raw)}).id

    return _start(work, back="/admin/passen-uitgeven")


# -- letters ---------------------------------------------------------------------

@bp.get("/admin/brieven")
@requires("admin")
def letters() -> ResponseReturnValue:
    actor = current_actor()
    assert actor.municipality_id is not None and actor.municipality_code is not None  # an admin's own
    today = clock_today(_settings().today)
    with _db().read() as session:
        years = _scheme_years(session, actor.municipality_id)
        year = _chosen_year(years, today.year)
        counts: dict[str, Any] = {}
        if year is not None:
            last = services.last_letters(session, actor.municipality_id, year)
            counts = {
                "all": count_letters(session, actor.municipality_id, year),
                "last": last,
                "new": count_letters(session, actor.municipality_id, year, after_pass_id=services.printed_through(last))
                if last else None,
            }
    return _page("admin/letters.html", years=years, year=year, active="letters", **counts)


def _letters_page(year: str = "") -> str:
    return f"/admin/brieven?jaar={year}" if year else "/admin/brieven"


def _letters_refused(said: Notice, year: str = "") -> ResponseReturnValue:
    tell(said, "error")
    return redirect(_letters_page(year))


@bp.post("/admin/brieven")
@requires("admin")
def letters_start() -> ResponseReturnValue:
    actor = current_actor()
    raw = (request.form.get("year") or "").strip()
    which = request.form.get("welke") or ""
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        return _letters_refused(notice("year_missing"))
    if which not in ("alle", "nieuw"):
        return _letters_refused(notice("letters_which_missing"), raw)
    year = int(raw)

    def work(session: Session) -> int:
        municipality = _municipality(session, actor.municipality_id)
        if year not in _scheme_years(session, municipality.id):
            raise _Said(notice("scheme_missing_for_year", year=raw), _letters_page())
        after = None
        if which == "nieuw":
            last = services.last_letters(session, municipality.id, year)
            if last is None:
                raise _Said(notice("letters_none_yet", year=raw), _letters_page(raw))
            after = services.printed_through(last)
        if not count_letters(session, municipality.id, year, after_pass_id=after):
            raise _Said(notice("letters_nothing_new" if which == "nieuw" else "letters_no_passes", year=raw),
                        _letters_page(raw))
        return services.start_job(session, actor, municipality, "letters", {"year": year, "after_pass_id": after}).id

    return _start(work, back=_letters_page(raw))


@bp.get("/admin/brieven/adressen.csv")
@requires("admin")
def letters_csv() -> ResponseReturnValue:
    """The print house's mail-merge file (the same as ``pasdienst passes export``), audited."""
    actor = current_actor()
    rows = write(lambda session: export_rows(session, actor.municipality_code or "", settings=_settings(),
                                             today=clock_today(_settings().today), actor=actor))
    data = csv_bytes(EXPORT_COLUMNS, (r.cells() for r in rows))
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="brieven-{actor.municipality_code}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


# -- year end --------------------------------------------------------------------

YEAR_END = "/admin/jaarafsluiting"


@bp.get(YEAR_END)
@requires("admin")
def year_end_preview() -> ResponseReturnValue:
    actor = current_actor()
    assert actor.municipality_id is not None and actor.municipality_code is not None  # an admin's own
    today = clock_today(_settings().today)
    with _db().read() as session:
        years = _scheme_years(session, actor.municipality_id)
        wanted = parsing.whole_number(request.args.get("jaar"), low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
        year = wanted if wanted in years else None
        if year is None and years:
            # The newest year that has ended; before any has, the oldest (the page says it is not over yet).
            over = [y for y in years if y < today.year]
            year = over[-1] if over else years[0]
        preview = preview_year_end(session, actor.municipality_code, year, today=today) if year is not None else None
    return _page("admin/year_end.html", years=years, year=year, preview=preview, active="yearend")


@bp.post(YEAR_END)
@requires("admin")
def year_end_start() -> ResponseReturnValue:
    actor = current_actor()
    raw = (request.form.get("year") or "").strip()
    year = parsing.whole_number(raw, low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    if year is None:
        tell(notice("year_missing"), "error")
        return redirect(YEAR_END)
    back = f"{YEAR_END}?jaar={year}"
    if (request.form.get("confirm") or "").strip() != str(year):
        tell(notice("year_end_not_confirmed", year=year), "error")
        return redirect(back)
    today = clock_today(_settings().today)

    def work(session: Session) -> int:
        municipality = _municipality(session, actor.municipality_id)
        if year not in _scheme_years(session, municipality.id):
            raise _Said(notice("scheme_missing_for_year", year=year), YEAR_END)
        # Refused here already, in Dutch, rather than as a failed job; the
        # job decides again under the lock (two starts close it once).
        refusal = preview_year_end(session, municipality.code, year, today=today).refusal
        if refusal is not None:
            raise _Said(dutch.say(refusal) or dutch.job_failure(refusal), back)
        return services.start_job(session, actor, municipality, "year_end", {"year": year}).id

    return _start(work, back=back)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""``/finance/samenwerking``: the cooperation's money as a member's finance staff see it.

Every member's finance staff read the members' figures per year and the
cooperation's payment runs their municipality remitted into (``figures.py``,
``runs.run_view``). When the cooperation pays the merchants, the lead's
finance staff also act here, as on the command line: make a run of the
approved batches, make its payment file, report it paid. Each form posts,
calls one service in one transaction and redirects with a Dutch message
(POST-redirect-GET); the downloads are built by the same services as
``pasdienst cooperation export``, byte for byte.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ..access.web import current_actor, requires
from ..clock import now as clock_now
from ..clock import today as clock_today
from ..labels import PAYOUT_TITLES, RUN_STATUS_TITLES
from ..web import parsing
from ..web.extensions import get_db, get_settings
from ..web.dutch import Notice, notice
from ..web.writes import change, tell
from . import figures, runs

bp = Blueprint("cooperation_finance", __name__)

T = TypeVar("T")
PAGE = "/finance/samenwerking"


def _run_url(run_id: int) -> str:
    return url_for("cooperation_finance.run_page", run_id=run_id)


def _act(
    work: Callable[[Session], T], success: Callable[[T], Notice], back: str, *, to: Callable[[T], str] | None = None,
) -> ResponseReturnValue:
    return change(work, success=success, target=to or back, back=back, code=303)


@bp.get(PAGE)
@requires("finance")
def overview() -> str:
    settings = get_settings(current_app)
    this_year = clock_today(settings.today).year
    year = parsing.whole_number(request.args.get("year"), low=2000, high=2100) or this_year
    with get_db(current_app).read() as session:
        found = figures.finance_overview(session, current_actor(), year)
    return render_template(
        "finance/cooperation.html", active="coopfinance", o=found, year=year,
        years=sorted({this_year, this_year - 1, year}, reverse=True),
        payout=PAYOUT_TITLES.get(found.cooperation.payout, "") if found else "", run_title=RUN_STATUS_TITLES.get,
    )


@bp.post(f"{PAGE}/betaalruns")
@requires("finance")
def create() -> ResponseReturnValue:
    settings = get_settings(current_app)
    actor = current_actor()
    return _act(
        lambda s: runs.create_run(
            s, actor, figures.own_cooperation(s, actor, as_lead=True).code, now=clock_now(settings.today), schema=settings.sepa_schema,
        ),
        lambda run: notice("run_created_one" if run.count == 1 else "run_created", run=run.id, count=run.count,
                           total_cents=run.total_cents),
        PAGE, to=lambda run: _run_url(run.id),
    )


@bp.get(f"{PAGE}/betaalruns/<int:run_id>")
@requires("finance")
def run_page(run_id: int) -> str:
    actor = current_actor()
    with get_db(current_app).read() as session:
        view = runs.run_view(session, actor, run_id)
        allocated = runs.run_allocation(session, actor, run_id)
        lead = figures.leads(session, actor, view.cooperation)
    by_payment: dict[str, list[runs.Allocated]] = {}
    for row in allocated:
        by_payment.setdefault(row.end_to_end_id, []).append(row)
    return render_template(
        "finance/cooperation_run.html", active="coopfinance", run=view, by_payment=by_payment, lead=lead,
        names={m.code: m.name for m in view.members},
        run_title=RUN_STATUS_TITLES.get,
    )


@bp.post(f"{PAGE}/betaalruns/<int:run_id>/betaalbestand")
@requires("finance")
def export(run_id: int) -> ResponseReturnValue:
    """Make the run's payment file (the first time it marks the run and its batches exported)."""
    settings = get_settings(current_app)
    actor = current_actor()

    def work(session: Session) -> None:
        files = runs.build_run_export(session, actor, run_id, schema=settings.sepa_schema, today=clock_today(settings.today))
        runs.record_run_export(session, actor, files, now=clock_now(settings.today))

    return change(
        work,
        success=notice("run_exported", run=run_id),
        target=_run_url(run_id) + "#volgende-stap", back=_run_url(run_id), code=303,
    )


@bp.get(f"{PAGE}/betaalruns/<int:run_id>/sepa.xml")
@requires("finance")
def sepa_file(run_id: int) -> ResponseReturnValue:
    """The payment file again, byte for byte (the lead's finance staff, once it was made)."""
    settings = get_settings(current_app)
    actor = current_actor()
    with get_db(current_app).read() as session:
        view = runs.run_view(session, actor, run_id)
        if view.exported_at is None:
            tell(notice("run_no_file"), "error")
            return redirect(_run_url(run_id))
        files = runs.build_run_export(session, actor, run_id, schema=settings.sepa_schema, today=clock_today(settings.today))
    return Response(
        files.sepa, mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="betaalrun-R{run_id}-sepa.xml"'},
    )


@bp.get(f"{PAGE}/betaalruns/<int:run_id>/verdeling.csv")
@requires("finance")
def allocation_csv(run_id: int) -> ResponseReturnValue:
    """Every payment of the run split over the members' batches (every member whose batch it paid)."""
    with get_db(current_app).read() as session:
        data = runs.allocation_csv_of(session, current_actor(), run_id)
    return Response(
        data, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="betaalrun-R{run_id}-verdeling.csv"'},
    )


@bp.post(f"{PAGE}/betaalruns/<int:run_id>/betaald")
@requires("finance")
def paid(run_id: int) -> ResponseReturnValue:
    settings = get_settings(current_app)
    actor = current_actor()
    return _act(
        lambda s: runs.mark_run_paid(s, actor, run_id, now=clock_now(settings.today)),
        lambda step: notice("run_paid", run=run_id) if step.changed else notice("already_done"),
        _run_url(run_id),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

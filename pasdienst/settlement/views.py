"""``/finance``: run the month, approve, hand the bank one file, mark it paid;
``/merchant/uitbetalingen``: a merchant's own settlements.

Thin: parse the form, one service call in one transaction, then redirect
with a Dutch message (POST-redirect-GET). Downloads are built by the same
services as the command line, so the web and ``pasdienst settlement export``
hand out the identical file.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ..access.policy import Actor

from ..access.web import current_actor, requires
from ..clock import now as clock_now
from ..clock import today as clock_today
from ..errors import NotFound
from . import batches, queries, returns
from .export import build_export, lines_csv_of, record_export, statement_for
from .errors import FourEyes
from .models import APPROVED, CANCELLED, DRAFT, EXPORTED, PAID, SettlementBatch
from .payment_file import PaymentFile
from .schemas import CreateBatchForm
from .statements import STYLESHEET_URL
from ..web.extensions import get_db, get_settings
from ..web.dutch import Notice, notice
from ..web.writes import change, tell

pages = Blueprint("settlement_pages", __name__)

T = TypeVar("T")

STATUS_TITLES = {
    DRAFT: "Concept",
    APPROVED: "Goedgekeurd",
    EXPORTED: "Betaalbestand gemaakt",
    PAID: "Betaald",
    CANCELLED: "Geannuleerd",
}
#: What a merchant reads about a batch it is in (drafts are not shown to it).
MERCHANT_STATUS_TITLES = {
    APPROVED: "Goedgekeurd, wordt betaald",
    EXPORTED: "Betaalopdracht bij de bank",
    PAID: "Betaald",
}
RETURN_TITLES = {"requested": "wacht op bevestiging", "confirmed": "bevestigd", "withdrawn": "ingetrokken"}


def _parts():
    settings = get_settings(current_app)
    return get_db(current_app), settings


_HELPERS = {"status_title": STATUS_TITLES.get, "return_title": RETURN_TITLES.get}


def _batch_url(batch_id: int) -> str:
    return url_for("settlement_pages.batch_page", batch_id=batch_id)


# -- finance ---------------------------------------------------------------------------

@pages.get("/finance")
@requires("finance")
def index() -> str:
    db, settings = _parts()
    actor = current_actor()
    assert actor.municipality_code is not None
    today = clock_today(settings.today)
    with db.read() as session:
        listed = queries.list_batches(session, actor, actor.municipality_code)
        waiting = queries.waiting_to_settle(session, actor, actor.municipality_code, until=today)
        users: set[int | None] = set()
        users.update(b.created_by_user_id for b in listed)
        users.update(b.approved_by_user_id for b in listed)
        emails = queries.user_emails(session, users)
    return render_template(
        "finance/index.html", batches=listed, waiting=waiting, emails=emails, today=today, active="finance", **_HELPERS
    )


@pages.post("/finance/afrekeningen")
@requires("finance")
def create() -> ResponseReturnValue:
    settings = get_settings(current_app)
    actor = current_actor()
    assert actor.municipality_code is not None
    form = CreateBatchForm().load_form(request.form)
    if form is None:
        tell(notice("batch_until_missing"), "error")
        return redirect(url_for("settlement_pages.index"))
    today = clock_today(settings.today)

    def work(session: Session) -> SettlementBatch:
        return batches.create_batch(
            session, actor, actor.municipality_code or "", until=form["until"], today=today, now=clock_now(settings.today),
        )

    return change(
        work,
        success=lambda batch: notice("batch_created_one" if batch.count == 1 else "batch_created", batch=batch.id,
                                     count=batch.count, total_cents=batch.total_cents),
        target=lambda batch: _batch_url(batch.id), back=url_for("settlement_pages.index"),
    )


@pages.get("/finance/afrekeningen/<int:batch_id>")
@requires("finance", "admin")  # admins read (the audit log links here); finance acts
def batch_page(batch_id: int) -> str:
    db, _ = _parts()
    actor = current_actor()
    with db.read() as session:
        batch = queries.get_batch(session, actor, batch_id)
        lines = queries.batch_lines(session, actor, batch_id)
        steps = queries.batch_transitions(session, actor, batch_id)
        emails = queries.user_emails(
            session, {batch.created_by_user_id, batch.approved_by_user_id, batch.paid_by_user_id, batch.cancelled_by_user_id}
        )
        batch_returns = returns.batch_returns(session, actor, batch_id)
        blocker = batches.four_eyes_blocker(session, actor, batch)
        payer = batches.cooperation_payer(session, batch)
    returned = [line for line in lines if line.returned_at is not None]
    return render_template(
        "finance/batch.html", batch=batch, lines=lines, steps=steps, emails=emails, active="finance",
        own_batch=blocker == "own", lineage_blocked=blocker == "lineage", problems=[line for line in lines if line.problem],
        returns=batch_returns, returned_cents=sum(line.total_cents for line in returned),
        returnable=[line for line in lines if line.returned_at is None], actor=actor, payer=payer, **_HELPERS,
    )


def _step(batch_id: int, work: Callable[..., Any], success: Notice, **options: object) -> ResponseReturnValue:
    settings = get_settings(current_app)
    actor = current_actor()
    return change(
        lambda session: work(session, actor, batch_id, now=clock_now(settings.today), **options),
        success=lambda result: success if result.changed else notice("already_done"),
        target=_batch_url(batch_id), said=(FourEyes,),
    )


@pages.post("/finance/afrekeningen/<int:batch_id>/goedkeuren")
@requires("finance")
def approve(batch_id: int) -> ResponseReturnValue:
    return _step(
        batch_id, batches.approve_batch,
        notice("batch_approved", batch=batch_id),
        schema=_parts()[1].sepa_schema,
    )


@pages.post("/finance/afrekeningen/<int:batch_id>/annuleren")
@requires("finance")
def cancel(batch_id: int) -> ResponseReturnValue:
    return _step(
        batch_id, batches.cancel_batch,
        notice("batch_cancelled", batch=batch_id),
    )


@pages.post("/finance/afrekeningen/<int:batch_id>/betaald")
@requires("finance")
def paid(batch_id: int) -> ResponseReturnValue:
    return _step(batch_id, batches.mark_paid, notice("batch_paid", batch=batch_id))


# -- payments the bank returned (four eyes) ------------------------------------------------

def _return_step(
    batch_id: int, work: Callable[[Session, Actor, datetime], T], success: Callable[[T], Notice],
) -> ResponseReturnValue:
    settings = get_settings(current_app)
    actor = current_actor()
    return change(lambda session: work(session, actor, clock_now(settings.today)), success=success,
                  target=_batch_url(batch_id), said=(FourEyes,))


@pages.post("/finance/afrekeningen/<int:batch_id>/terugboekingen")
@requires("finance")
def return_request(batch_id: int) -> ResponseReturnValue:
    raw = (request.form.get("merchant_id") or "").strip()
    merchant_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    # Only an explicit choice returns every payment of the batch.
    if raw != "alle" and merchant_id is None:
        tell(notice("return_merchant_missing"), "error")
        return redirect(_batch_url(batch_id))
    reason = request.form.get("reason") or ""
    return _return_step(
        batch_id,
        lambda s, actor, now: returns.request_return(s, actor, batch_id, merchant_id=merchant_id, reason=reason, now=now),
        lambda entry: notice("return_requested", return_id=entry.id),
    )


@pages.post("/finance/afrekeningen/<int:batch_id>/terugboekingen/<int:return_id>/bevestigen")
@requires("finance")
def return_confirm(batch_id: int, return_id: int) -> ResponseReturnValue:
    return _return_step(
        batch_id,
        lambda s, actor, now: _of_batch(returns.confirm_return(s, actor, return_id, now=now), batch_id),
        lambda result: (
            notice("return_confirmed", return_id=return_id, amount_cents=result.entry.amount_cents)
            if result.changed else notice("already_done")
        ),
    )


@pages.post("/finance/afrekeningen/<int:batch_id>/terugboekingen/<int:return_id>/intrekken")
@requires("finance")
def return_withdraw(batch_id: int, return_id: int) -> ResponseReturnValue:
    return _return_step(
        batch_id,
        lambda s, actor, now: _of_batch(returns.withdraw_return(s, actor, return_id, now=now), batch_id),
        lambda result: notice("return_withdrawn", return_id=return_id),
    )


def _of_batch(result: returns.ReturnResult, batch_id: int) -> returns.ReturnResult:
    # The form names the batch in its address: a return of another batch is
    # "not found" (and rolls back) rather than acted on from the wrong page.
    if result.entry.batch_id != batch_id:
        raise NotFound(f"no return {result.entry.id} in batch {batch_id}")
    return result


def _sepa_download(export: PaymentFile) -> Response:
    return Response(
        export.sepa,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="afrekening-B{export.id}-sepa.xml"'},
    )


@pages.post("/finance/afrekeningen/<int:batch_id>/export")
@requires("finance")
def export(batch_id: int) -> ResponseReturnValue:
    """Make the payment file: marks the batch exported (the first time), then back to the batch.

    A download cannot redirect, so the page that follows offers the file
    (``sepa.xml``, byte for byte the same each time) and the next step,
    reporting the batch paid once the bank has executed it.
    """
    settings = get_settings(current_app)
    actor = current_actor()

    def work(session: Session) -> None:
        files = build_export(session, actor, batch_id, schema=settings.sepa_schema, today=clock_today(settings.today))
        record_export(session, actor, files, now=clock_now(settings.today))

    return change(
        work,
        success=notice("batch_exported", batch=batch_id),
        target=_batch_url(batch_id) + "#volgende-stap", back=_batch_url(batch_id), code=303,
    )


@pages.get("/finance/afrekeningen/<int:batch_id>/sepa.xml")
@requires("finance")
def sepa_file(batch_id: int) -> ResponseReturnValue:
    """The payment file again, byte for byte (only once it was made)."""
    db, settings = _parts()
    actor = current_actor()
    with db.read() as session:
        batch = queries.get_batch(session, actor, batch_id)
        if batch.status not in (EXPORTED, PAID):
            tell(notice("batch_no_file"), "error")
            return redirect(_batch_url(batch_id))
        files = build_export(session, actor, batch_id, schema=settings.sepa_schema, today=clock_today(settings.today))
    return _sepa_download(files)


@pages.get("/finance/afrekeningen/<int:batch_id>/regels.csv")
@requires("finance", "admin")  # admins read (the audit log links here); finance acts
def lines_csv(batch_id: int) -> ResponseReturnValue:
    db, _ = _parts()
    actor = current_actor()
    with db.read() as session:
        data = lines_csv_of(session, actor, batch_id)
    return Response(
        data, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="afrekening-B{batch_id}-regels.csv"'},
    )


@pages.get("/finance/afrekeningen/<int:batch_id>/aanbieder/<int:merchant_id>")
@requires("finance", "admin")  # admins read (the audit log links here); finance acts
def statement(batch_id: int, merchant_id: int) -> ResponseReturnValue:
    db, _ = _parts()
    with db.read() as session:
        found = statement_for(session, current_actor(), batch_id, merchant_id, stylesheet_url=STYLESHEET_URL)
    return Response(found.html, mimetype="text/html")


# -- the merchant's own view --------------------------------------------------------------

@pages.get("/merchant/uitbetalingen")
@requires("merchant")
def merchant_payouts() -> str:
    db, _ = _parts()
    with db.read() as session:
        payouts = queries.merchant_payouts(session, current_actor())
    return render_template("merchant/payouts.html", payouts=payouts, titles=MERCHANT_STATUS_TITLES, **_HELPERS)


@pages.get("/merchant/uitbetalingen/<int:batch_id>")
@requires("merchant")
def merchant_statement(batch_id: int) -> ResponseReturnValue:
    db, _ = _parts()
    actor = current_actor()
    assert actor.merchant_id is not None
    with db.read() as session:
        found = statement_for(session, actor, batch_id, actor.merchant_id, stylesheet_url=STYLESHEET_URL)
    return Response(found.html, mimetype="text/html")

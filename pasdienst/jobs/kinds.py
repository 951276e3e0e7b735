"""The job kinds: each runs one of the year's long services in the worker.

A kind does its work in transactions of its own and records what it did
with :meth:`JobContext.save_summary` in the transaction that did it, so an
attempt after a crash skips what is already done and reports it truly.
"""
from __future__ import annotations

import io

from .. import faults
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..reminders.sending import send_moment
from ..wallet import qr
from ..wallet.issuing import issue_passes
from ..wallet.letters import count_letters, letters_for, newest_pass_id, write_pdf
from ..wallet.yearend import close_year
from .context import JobContext, JobKind

#: Progress steps, as the job page names them (see ``labels.JOB_STEP_TITLES``).
STEP_ISSUE = "issue"
STEP_QR = "qr"
STEP_LETTERS = "letters"
STEP_YEAR_END = "year_end"


def issue_passes_job(ctx: JobContext) -> None:
    """Issue every eligible child without a pass its pass for the year, then render their QR codes."""
    year = int(ctx.params["year"])
    if "issued" not in ctx.summary:
        with ctx.db.transaction() as session:
            result = issue_passes(
                session, ctx.municipality_code, year, settings=ctx.settings, today=ctx.today,
                progress=lambda done, total: ctx.progress(done, total, STEP_ISSUE), actor=ctx.actor,
                job_id=ctx.job_id,
            )
            ctx.save_summary(
                session, year=year, issued=result.issued, vouchers=result.vouchers,
                total_cents=result.total_cents, not_eligible=result.not_eligible,
            )
            faults.checkpoint("jobs.issue.before_commit")
    with ctx.db.read() as session:
        municipality_id = get_municipality(session, ctx.municipality_code).id
    # Renders every missing image of the municipality: also those of a run
    # whose worker died after the passes were committed.

    def rendered(done: int, total: int) -> None:
        ctx.progress(done, total, STEP_QR)
        faults.checkpoint("jobs.qr.after_first_batch")

    ctx.summary["qr_rendered"] = qr.render_missing(
        ctx.db, ctx.settings, municipality_id=municipality_id, progress=rendered
    )


def letters_job(ctx: JobContext) -> None:
    """The year's letters as one PDF: every active pass, or (``after_pass_id``)
    only the passes issued or reissued since the print run that covered up to it.

    Reads only, so a retry after a crash simply starts again. The summary's
    ``through_pass_id`` is the highest pass id this run covered: the next
    "only new" run starts after it (``services.last_letters``).
    """
    year = int(ctx.params["year"])
    after = ctx.params.get("after_pass_id")
    after = int(after) if after is not None else None
    with ctx.db.read() as session:
        municipality_id = get_municipality(session, ctx.municipality_code).id
    # Images a letter needs that an interrupted issuing run left unrendered.
    qr.render_missing(
        ctx.db, ctx.settings, municipality_id=municipality_id,
        progress=lambda done, total: ctx.progress(done, total, STEP_QR),
    )
    with ctx.db.read() as session:
        through = max(newest_pass_id(session, municipality_id, year) or 0, after or 0) or None
    pdf = io.BytesIO()
    with ctx.db.read() as session:
        municipality = session.get(Municipality, municipality_id)
        assert municipality is not None
        span = {"after_pass_id": after, "through_pass_id": through or 0}
        pages = write_pdf(
            letters_for(session, municipality, year, settings=ctx.settings, today=ctx.today, **span),
            pdf, total=count_letters(session, municipality_id, year, **span),
            title=f"Brieven kinderpas {municipality.name} {year}",
            progress=lambda done, total: ctx.progress(done, total, STEP_LETTERS),
        )
    ctx.summary.update(year=year, letters=pages, only_new=after is not None, through_pass_id=through)
    suffix = "-nieuw" if after is not None else ""
    ctx.attach(f"brieven-{ctx.municipality_code}-{year}{suffix}.pdf", "application/pdf", pdf.getvalue())


def close_year_job(ctx: JobContext) -> None:
    """Close the year: its passes expire and their unused money returns to the fund, once.

    ``close_year`` records ``year.close`` in the audit log in the same
    transaction as the money and the summary; a retry after a crash that
    came after the commit finds the summary and does nothing again.
    """
    year = int(ctx.params["year"])
    if "passes_expired" in ctx.summary:
        return
    with ctx.db.transaction() as session:
        result = close_year(
            session, ctx.municipality_code, year, today=ctx.today, actor=ctx.actor, once=True,
            progress=lambda done, total: ctx.progress(done, total, STEP_YEAR_END),
        )
        ctx.save_summary(
            session, year=year, passes_expired=result.passes_expired, vouchers_emptied=result.vouchers_emptied,
            returned_cents=result.returned_cents,
            lines=[[line.kind, line.category, line.vouchers, line.cents] for line in result.lines],
        )
        faults.checkpoint("jobs.year_end.before_commit")


def reminders_job(ctx: JobContext) -> None:
    """E-mail the households of a reminder moment that have not used their pass (``reminders/sending.py``)."""
    send_moment(ctx)


KINDS: dict[str, JobKind] = {
    "issue_passes": issue_passes_job,
    "letters": letters_job,
    "year_end": close_year_job,
    "reminders": reminders_job,
}

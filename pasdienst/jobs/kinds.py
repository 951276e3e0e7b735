"""The job kinds: each runs one of the year's long services in the worker.

A kind does its work in transactions of its own and records what it did
with :meth:`JobContext.save_summary` in the transaction that did it, so an
attempt after a crash skips what is already done and reports it truly.
"""
from __future__ import annotations

from .. import faults
from ..access.services import record_audit
from ..municipalities.services import get_municipality
from ..wallet import qr
from ..wallet.issuing import issue_passes
from .context import JobContext, JobKind

#: Progress steps, as the job page names them (see ``views.STEP_TITLES``).
STEP_ISSUE = "issue"
STEP_QR = "qr"


def issue_passes_job(ctx: JobContext) -> None:
    """Issue every eligible child without a pass its pass for the year, then render their QR codes."""
    year = int(ctx.params["year"])
    if "issued" not in ctx.summary:
        with ctx.db.transaction() as session:
            result = issue_passes(
                session, ctx.municipality_code, year, settings=ctx.settings, today=ctx.today,
                progress=lambda done, total: ctx.progress(done, total, STEP_ISSUE),
            )
            municipality_id = get_municipality(session, ctx.municipality_code).id
            if result.issued:
                record_audit(
                    session, ctx.actor, "passes.issue", "municipality", municipality_id,
                    after={"year": year, "issued": result.issued, "vouchers": result.vouchers,
                           "total_cents": result.total_cents, "job": ctx.job_id},
                    municipality_id=municipality_id,
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


KINDS: dict[str, JobKind] = {
    "issue_passes": issue_passes_job,
}

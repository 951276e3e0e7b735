"""``pasdienst settlement …``: run the month, approve it, hand the bank one file.

Every step is one transaction: killed halfway, it left nothing; run again,
it finishes the job and pays nothing twice (a step already done says so and
exits 0).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ..access.accounts import actor_for_email
from ..access.policy import Actor, CLI_ACTOR
from ..clock import now as clock_now
from ..csvsafe import write_atomically
from ..money import format_euros
from .. import faults
from ..settlement.errors import NothingToSettle
from ..settlement.returns import batch_returns, confirm_return, request_return, withdraw_return
from ..settlement.batches import approve_batch, cancel_batch, create_batch, mark_paid
from ..settlement.corrections import correct_redemption
from ..settlement.export import build_export, record_export, write_statements
from ..settlement.queries import batch_lines, get_batch, list_batches, user_emails
from .base import Context, main, pass_ctx

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _finance(session: Session, email: str) -> Actor:
    return actor_for_email(session, email, roles=("finance",))


def _now(ctx: Context) -> datetime:
    # On PASDIENST_TODAY's date in demos and replays, like redemptions.
    return clock_now(ctx.settings.today)


def _eur(cents: int) -> str:
    return f"{format_euros(cents)} EUR"


@main.group("settlement")
def settlement_group() -> None:
    """Settlement batches: create, approve (four eyes), export the SEPA file, paid."""


@settlement_group.command("create")
@click.argument("municipality")
@click.option("--until", "until", required=True, type=_DATE, help="Exclusive: redemptions dated (Amsterdam) before this day; today at the latest.")
@click.option("--by", "by", required=True, help="E-mail address of the finance user creating the batch.")
@pass_ctx
def create(ctx: Context, municipality: str, until: datetime, by: str) -> None:
    """One draft batch of every unsettled redemption before --until; prints its id last.

    Nothing waiting: says so, creates nothing, exits 0.
    """
    def work(session: Session) -> str:
        batch = create_batch(session, _finance(session, by), municipality, until=until.date(), today=ctx.today, now=_now(ctx))
        return (
            f"created draft batch {batch.id} for {municipality.strip().lower()}: {batch.count} redemptions, "
            f"{_eur(batch.total_cents)}, {batch.period_from} to {batch.period_until}\n"
            f"next: another finance user runs 'pasdienst settlement approve {batch.id} --by EMAIL'\n{batch.id}"
        )

    ctx.write(work, nothing_to_do=(NothingToSettle,))


@settlement_group.command("approve")
@click.argument("batch_id", type=int)
@click.option("--by", "by", required=True, help="E-mail address of a finance user other than the creator.")
@pass_ctx
def approve(ctx: Context, batch_id: int, by: str) -> None:
    """Approve a draft batch (four eyes): payables move to settlement clearing."""
    def work(session: Session) -> str:
        result = approve_batch(session, _finance(session, by), batch_id, now=_now(ctx), schema=ctx.settings.sepa_schema)
        batch = result.batch
        return (
            f"approved batch {batch.id}: {_eur(batch.total_cents)} moved from the merchants' payables to settlement clearing"
            if result.changed
            else f"batch {batch.id} was already approved ({batch.status}); nothing changed"
        )

    ctx.write(work)


@settlement_group.command("cancel")
@click.argument("batch_id", type=int)
@click.option("--by", "by", required=True, help="E-mail address of a finance user.")
@pass_ctx
def cancel(ctx: Context, batch_id: int, by: str) -> None:
    """Cancel a draft batch: its redemptions can be settled again."""
    ctx.write(lambda session: (
        f"cancelled batch {batch_id}; its redemptions wait for the next batch"
        if cancel_batch(session, _finance(session, by), batch_id, now=_now(ctx)).changed
        else f"batch {batch_id} was already cancelled"
    ))


@settlement_group.command("paid")
@click.argument("batch_id", type=int)
@click.option("--by", "by", required=True, help="E-mail address of a finance user.")
@pass_ctx
def paid(ctx: Context, batch_id: int, by: str) -> None:
    """The bank has executed the batch: clearing moves to the bank account."""
    def work(session: Session) -> str:
        result = mark_paid(session, _finance(session, by), batch_id, now=_now(ctx))
        batch = result.batch
        return (
            f"batch {batch.id} paid: {_eur(batch.total_cents)} moved from settlement clearing to the bank account"
            if result.changed else f"batch {batch.id} was already marked paid; nothing changed"
        )

    ctx.write(work)


@settlement_group.command("export")
@click.argument("batch_id", type=int)
@click.option("--sepa", "sepa", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Where to write the pain.001 file.")
@click.option("--csv", "csv", type=click.Path(dir_okay=False, path_type=Path), help="Also the batch lines as CSV.")
@click.option("--statements", "statements", type=click.Path(file_okay=False, path_type=Path), help="Also a printable HTML statement per merchant, into this directory.")
@pass_ctx
def export(ctx: Context, batch_id: int, sepa: Path, csv: Path | None, statements: Path | None) -> None:
    """Write the SEPA credit-transfer file of an approved batch (again: the identical file)."""
    with ctx.db.read() as session:
        files = build_export(session, CLI_ACTOR, batch_id, schema=ctx.settings.sepa_schema, today=ctx.today)
    write_atomically(sepa, files.sepa)
    if csv is not None:
        write_atomically(csv, files.csv)
    written = []
    if statements is not None:
        with ctx.db.read() as session:
            written = write_statements(session, CLI_ACTOR, batch_id, statements)
    faults.checkpoint("settlement.export.after_files")
    wrote = [
        f"wrote {sepa}: {files.schema}, {files.nb_of_txs} transfers, CtrlSum {_eur(files.ctrl_sum_cents)}, "
        f"execution date {files.execution_date}",
        *([f"wrote {csv}"] if csv is not None else []),
        *([f"wrote {len(written)} statements into {statements}"] if statements is not None else []),
    ]
    ctx.write(lambda session: "\n".join([*wrote, (
        f"batch {batch_id} is now exported" if record_export(session, CLI_ACTOR, files, now=_now(ctx)).changed
        else f"batch {batch_id} was exported before: the same file again"
    )]))


@settlement_group.command("correct")
@click.argument("redemption_id", type=int)
@click.option("--reason", required=True, help="Why the redemption is taken back.")
@click.option("--by", "by", required=True, help="E-mail address of a finance user.")
@pass_ctx
def correct(ctx: Context, redemption_id: int, reason: str, by: str) -> None:
    """Take back a settled redemption; the next batch nets it off the merchant's payment."""
    def work(session: Session) -> str:
        correction = correct_redemption(session, _finance(session, by), redemption_id, reason=reason, now=_now(ctx))
        return (
            f"corrected redemption {redemption_id}: {_eur(correction.amount_cents)} back on the voucher, "
            f"netted off merchant {correction.merchant_id}'s next batch\n{correction.id}"
        )

    ctx.write(work)


@settlement_group.command("return")
@click.argument("batch_id", type=int)
@click.option("--merchant", "merchant_id", type=int, help="The merchant whose payment came back; leave out for every payment of the batch.")
@click.option("--reason", required=True, help="The bank's reason, e.g. 'account closed' (shown on the statement).")
@click.option("--by", "by", required=True, help="E-mail address of the finance user recording it.")
@pass_ctx
def return_(ctx: Context, batch_id: int, merchant_id: int | None, reason: str, by: str) -> None:
    """Record that the bank returned a payment of an approved, exported or paid batch; prints the return's id last.

    Nothing moves until another finance user runs 'settlement confirm-return'.
    """
    what = f"merchant {merchant_id}'s payment" if merchant_id is not None else "every payment"

    def work(session: Session) -> str:
        entry = request_return(session, _finance(session, by), batch_id, merchant_id=merchant_id, reason=reason, now=_now(ctx))
        return (
            f"recorded return {entry.id}: {what} of batch {batch_id} came back ({' '.join(reason.split())})\n"
            f"next: another finance user runs 'pasdienst settlement confirm-return {entry.id} --by EMAIL'\n{entry.id}"
        )

    ctx.write(work)


@settlement_group.command("confirm-return")
@click.argument("return_id", type=int)
@click.option("--by", "by", required=True, help="E-mail address of a finance user other than the one who recorded it.")
@pass_ctx
def confirm_return_(ctx: Context, return_id: int, by: str) -> None:
    """Confirm a recorded return (four eyes): the money goes back to the payables, the redemptions wait for the next batch."""
    def work(session: Session) -> str:
        result = confirm_return(session, _finance(session, by), return_id, now=_now(ctx))
        entry = result.entry
        return (
            f"confirmed return {entry.id}: {_eur(entry.amount_cents)} of batch {entry.batch_id} back on the payables of "
            f"merchant(s) {', '.join(str(m) for m in result.merchants)}; their redemptions go into the next batch"
            if result.changed else f"return {entry.id} was already confirmed; nothing changed"
        )

    ctx.write(work)


@settlement_group.command("withdraw-return")
@click.argument("return_id", type=int)
@click.option("--by", "by", required=True, help="E-mail address of a finance user.")
@pass_ctx
def withdraw_return_(ctx: Context, return_id: int, by: str) -> None:
    """Withdraw a recorded return that was not confirmed (nothing had moved)."""
    ctx.write(lambda session: (
        f"withdrew return {return_id}" if withdraw_return(session, _finance(session, by), return_id, now=_now(ctx)).changed
        else f"return {return_id} was already withdrawn"
    ))


@settlement_group.command("list")
@click.argument("municipality")
@pass_ctx
def list_(ctx: Context, municipality: str) -> None:
    """A municipality's batches, newest first."""
    with ctx.db.read() as session:
        for b in list_batches(session, CLI_ACTOR, municipality):
            click.echo(
                f"{b.id:>6}  {b.status:<9}  {b.period_from} .. {b.period_until}  {b.count:>8}  {_eur(b.total_cents):>16}"
            )


@settlement_group.command("show")
@click.argument("batch_id", type=int)
@pass_ctx
def show(ctx: Context, batch_id: int) -> None:
    """One batch: state, who did what, and its line per merchant."""
    with ctx.db.read() as session:
        b = get_batch(session, CLI_ACTOR, batch_id)
        emails = user_emails(session, {b.created_by_user_id, b.approved_by_user_id, b.paid_by_user_id, b.cancelled_by_user_id})
        click.echo(f"batch {b.id}: {b.status}, redemptions before {b.until}, period {b.period_from} to {b.period_until}")
        click.echo(f"  {b.count} redemptions, {_eur(b.total_cents)}, MsgId {b.message_id}")
        for label, user_id, at in (
            ("created", b.created_by_user_id, b.created_at),
            ("approved", b.approved_by_user_id, b.approved_at),
            ("exported", None, b.exported_at),
            ("paid", b.paid_by_user_id, b.paid_at),
            ("cancelled", b.cancelled_by_user_id, b.cancelled_at),
        ):
            if at is not None:
                click.echo(f"  {label} {at:%Y-%m-%d %H:%M} UTC" + (f" by {emails.get(user_id, user_id)}" if user_id else ""))
        for line in batch_lines(session, CLI_ACTOR, batch_id):
            flag = f"  ! {line.problem}" if line.problem else ""
            if line.returned_at is not None:
                flag += f"  returned by the bank {line.returned_at:%Y-%m-%d %H:%M} UTC"
            click.echo(
                f"  {line.merchant_id:>6}  {line.count:>7}  {_eur(line.total_cents):>16}  {line.iban:<22}  {line.merchant_name}{flag}"
            )
        for r in batch_returns(session, CLI_ACTOR, batch_id):
            who = f"merchant {r.merchant_id}" if r.merchant_id is not None else "whole batch"
            decided = f", {r.status} by {r.decided_by}" if r.decided_by else ""
            click.echo(f"  return {r.id}: {who}, {r.status}, recorded by {r.requested_by}{decided}: {r.reason}")

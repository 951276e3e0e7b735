"""``pasdienst cooperation …``: municipalities that run one kindpakket together.

The operator forms the cooperation at the request of its lead and invites
the members; each member's admin agrees (``join --by``) and admits its own
merchants. Without ``--by`` a command acts as the operator. When the
cooperation pays the merchants, a finance user of the lead makes its
payment runs (``settle``, ``export``, ``paid``).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ..access.accounts import actor_for_email
from ..access.policy import Actor, CLI_ACTOR
from ..clock import now as clock_now
from ..cooperations.runs import build_run_export, create_run, list_runs, mark_run_paid, record_run_export, waiting_batches
from ..csvsafe import write_atomically
from ..money import format_euros
from ..settlement.errors import NothingToSettle
from ..cooperations.models import PAYOUTS, Cooperation
from ..cooperations.services import (
    admit_merchant,
    create_cooperation,
    describe,
    invite_member,
    join_cooperation,
    leave_cooperation,
    list_cooperations,
    set_payout,
    withdraw_merchant,
)
from .base import Context, main, pass_ctx


def _admin(session: Session, email: str | None) -> Actor | None:
    return actor_for_email(session, email, roles=("admin",)) if email else None


@main.group("cooperation")
def cooperation_group() -> None:
    """Cooperations of municipalities (samenwerkingsverbanden): members, merchants, payment runs."""


@cooperation_group.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Display name, e.g. 'Kindpakket Zuidoost-Friesland'.")
@click.option("--lead", required=True, help="The lead municipality (penvoerder); its first member.")
@click.option("--payout", type=click.Choice(PAYOUTS), default="members", show_default=True,
              help="members: each member pays from its own IBAN; cooperation: one file from the cooperation's IBAN.")
@click.option("--iban", help="The account the cooperation pays merchants from (needed for --payout cooperation).")
@click.option("--bic", help="Optional; derived from the IBAN where possible.")
@pass_ctx
def create(ctx: Context, code: str, name: str, lead: str, payout: str, iban: str | None, bic: str | None) -> None:
    """Form a cooperation with its lead as first member; prints its code last."""
    def work(session: Session) -> str:
        made = create_cooperation(session, code, name=name, lead=lead, payout=payout, iban=iban, bic=bic)
        return (
            f"created cooperation {made.code} ({made.name}), lead {lead.strip().lower()}, payout {made.payout}\n"
            f"next: pasdienst cooperation add-member {made.code} MUNICIPALITY, then that member's admin joins\n{made.code}"
        )

    ctx.write(work)


@cooperation_group.command("add-member")
@click.argument("code")
@click.argument("municipality")
@pass_ctx
def add_member(ctx: Context, code: str, municipality: str) -> None:
    """Invite a municipality; it becomes a member when its admin joins."""
    ctx.write(lambda session: (
        f"{municipality.strip().lower()} is a member of {code.strip().lower()}"
        if invite_member(session, code, municipality).status == "active"
        else f"invited {municipality.strip().lower()} to {code.strip().lower()}; its admin joins with "
        f"'pasdienst cooperation join {municipality.strip().lower()} --by EMAIL' or on /admin/samenwerking"
    ))


@cooperation_group.command("join")
@click.argument("municipality")
@click.option("--by", "by", required=True, help="E-mail address of an admin of that municipality, who agrees.")
@pass_ctx
def join(ctx: Context, municipality: str, by: str) -> None:
    """A member's admin agrees to the invitation: the cooperation's merchants take its passes from now on."""
    def work(session: Session) -> str:
        joined = join_cooperation(session, _admin(session, by), municipality)
        cooperation = describe(session, _code_of(session, joined.member.cooperation_id))
        return (
            f"{municipality.strip().lower()} joined {cooperation.code}: {len(cooperation.merchants)} merchant(s) of the "
            "cooperation take its passes"
            if joined.changed else f"{municipality.strip().lower()} was already a member of {cooperation.code}"
        )

    ctx.write(work)


def _code_of(session: Session, cooperation_id: int) -> str:
    return session.get_one(Cooperation, cooperation_id).code


@cooperation_group.command("leave")
@click.argument("municipality")
@click.option("--by", "by", help="E-mail address of an admin of that municipality (default: the operator).")
@pass_ctx
def leave(ctx: Context, municipality: str, by: str | None) -> None:
    """A member leaves (or declines the invitation); what was spent is still settled."""
    ctx.write(lambda session: (
        f"{municipality.strip().lower()} left {leave_cooperation(session, _admin(session, by), municipality).code}"
    ))


@cooperation_group.command("add-merchant")
@click.argument("merchant_id", type=int)
@click.option("--by", "by", help="E-mail address of an admin of the merchant's municipality (default: the operator).")
@pass_ctx
def add_merchant(ctx: Context, merchant_id: int, by: str | None) -> None:
    """Admit a merchant to its municipality's cooperation: it takes every member's passes."""
    def work(session: Session) -> str:
        admission = admit_merchant(session, _admin(session, by), merchant_id)
        return (
            f"{admission.merchant.name} (merchant {merchant_id}) takes the passes of "
            + (", ".join(admission.members) or "no other member yet")
            + f" besides its own in {admission.cooperation.code}"
            + ("" if admission.changed else " (already admitted)")
        )

    ctx.write(work)


@cooperation_group.command("remove-merchant")
@click.argument("merchant_id", type=int)
@click.option("--by", "by", help="E-mail address of an admin of the merchant's municipality (default: the operator).")
@pass_ctx
def remove_merchant(ctx: Context, merchant_id: int, by: str | None) -> None:
    """Withdraw a merchant from the cooperation: it takes its own municipality's passes only."""
    def work(session: Session) -> str:
        admission = withdraw_merchant(session, _admin(session, by), merchant_id)
        return (
            f"{admission.merchant.name} (merchant {merchant_id}) left {admission.cooperation.code}"
            if admission.changed else f"{admission.merchant.name} (merchant {merchant_id}) was not admitted"
        )

    ctx.write(work)


@cooperation_group.command("set-payout")
@click.argument("code")
@click.argument("payout", type=click.Choice(PAYOUTS))
@click.option("--iban", help="The account the cooperation pays merchants from.")
@click.option("--bic", help="Optional; derived from the IBAN where possible.")
@pass_ctx
def payout(ctx: Context, code: str, payout: str, iban: str | None, bic: str | None) -> None:
    """Who pays the merchants: each member (members) or the cooperation from one account (cooperation)."""
    def work(session: Session) -> str:
        cooperation = set_payout(session, code, payout, iban=iban, bic=bic)
        return f"{cooperation.code} pays by {cooperation.payout}" + (
            f" from IBAN {cooperation.iban}" if cooperation.payout == "cooperation" else ""
        )

    ctx.write(work)


@cooperation_group.command("show")
@click.argument("code")
@pass_ctx
def show(ctx: Context, code: str) -> None:
    """The cooperation's members and merchants."""
    with ctx.db.read() as session:
        view = describe(session, code)
    click.echo(f"{view.code}  {view.name}  payout {view.payout}" + (f"  IBAN {view.iban}" if view.iban else ""))
    for member in view.members:
        click.echo(f"member    {member.code:<24} {member.status:<8}{'  lead' if member.lead else ''}")
    for merchant in view.merchants:
        click.echo(f"merchant  {merchant.id:>6}  {merchant.municipality_code:<24} {merchant.status:<9} {merchant.name}")


@cooperation_group.command("list")
@pass_ctx
def list_(ctx: Context) -> None:
    """Every cooperation: code, payout, name."""
    with ctx.db.read() as session:
        for cooperation in list_cooperations(session):
            click.echo(f"{cooperation.code:<24} {cooperation.payout:<12} {cooperation.name}")


# -- payment runs (payout cooperation) ----------------------------------------------------


def _finance(session: Session, email: str) -> Actor:
    return actor_for_email(session, email, roles=("finance",))


def _now(ctx: Context) -> datetime:
    return clock_now(ctx.settings.today)


@cooperation_group.command("settle")
@click.argument("code")
@click.option("--by", "by", required=True, help="E-mail address of a finance user of the lead municipality.")
@pass_ctx
def settle(ctx: Context, code: str, by: str) -> None:
    """A payment run of every approved batch of the members; their shares move to the cooperation. Prints the run id last.

    Nothing waiting: says so, makes nothing, exits 0.
    """
    def work(session: Session) -> str:
        run = create_run(session, _finance(session, by), code, now=_now(ctx), schema=ctx.settings.sepa_schema)
        return (
            f"made payment run {run.id} of {code.strip().lower()}: {run.count} redemptions, "
            f"{format_euros(run.total_cents)} EUR, {run.period_from} to {run.period_until}\n"
            f"next: pasdienst cooperation export {run.id} --sepa FILE.xml --csv FILE.csv\n{run.id}"
        )

    ctx.write(work, nothing_to_do=(NothingToSettle,))


@cooperation_group.command("export")
@click.argument("run_id", type=int)
@click.option("--sepa", "sepa", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Where to write the pain.001 file.")
@click.option("--csv", "csv", type=click.Path(dir_okay=False, path_type=Path), help="Also the allocation of each payment to the members' batches.")
@pass_ctx
def export(ctx: Context, run_id: int, sepa: Path, csv: Path | None) -> None:
    """Write the run's SEPA file from the cooperation's account (again: the identical file)."""
    with ctx.db.read() as session:
        files = build_run_export(session, CLI_ACTOR, run_id, schema=ctx.settings.sepa_schema, today=ctx.today)
    write_atomically(sepa, files.sepa)
    if csv is not None:
        write_atomically(csv, files.csv)
    wrote = [
        f"wrote {sepa}: {files.schema}, {files.nb_of_txs} transfers, CtrlSum {format_euros(files.ctrl_sum_cents)} EUR, "
        f"execution date {files.execution_date}",
        *([f"wrote {csv}"] if csv is not None else []),
    ]
    ctx.write(lambda session: "\n".join([*wrote, (
        f"run {run_id} is now exported" if record_run_export(session, CLI_ACTOR, files, now=_now(ctx)).changed
        else f"run {run_id} was exported before: the same file again"
    )]))


@cooperation_group.command("paid")
@click.argument("run_id", type=int)
@click.option("--by", "by", required=True, help="E-mail address of a finance user of the lead municipality.")
@pass_ctx
def paid(ctx: Context, run_id: int, by: str) -> None:
    """The bank executed the run's file: it and the members' batches are paid."""
    def work(session: Session) -> str:
        result = mark_run_paid(session, _finance(session, by), run_id, now=_now(ctx))
        return (
            f"run {run_id} is paid: {format_euros(result.run.total_cents)} EUR left the cooperation's account"
            if result.changed else f"run {run_id} was already paid"
        )

    ctx.write(work)


@cooperation_group.command("runs")
@click.argument("code")
@pass_ctx
def runs(ctx: Context, code: str) -> None:
    """The cooperation's payment runs, newest first, and the members' batches waiting for the next."""
    with ctx.db.read() as session:
        for run in list_runs(session, CLI_ACTOR, code):
            click.echo(f"R{run.id:<6} {run.status:<9} {run.period_from} to {run.period_until}  {format_euros(run.total_cents):>12} EUR")
        for member, batch in waiting_batches(session, CLI_ACTOR, code):
            click.echo(f"waiting  B{batch.id:<6} {member:<24} {format_euros(batch.total_cents):>12} EUR")

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from ..csvsafe import write_csv
from ..errors import ValidationFailed
from ..money import format_euros
from ..municipalities.services import get_municipality
from ..wallet import qr
from ..wallet.models import REISSUE_REASONS
from ..wallet.services import (
    EXPORT_COLUMNS,
    PassView,
    block_pass,
    export_rows,
    find_pass,
    issue_passes,
    pass_view,
    reissue_pass,
    replaced_by,
)
from ..access.policy import CLI_ACTOR
from .base import Context, main, pass_ctx

T = TypeVar("T")


class _Bar:
    """A progress bar that appears on the first report (when the total is
    known) and only on a terminal; on standard error, so that standard
    output keeps its last-line contract."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None  # click's ProgressBar, opened on the first call
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _with_bar(label: str, work: Callable[[_Bar], T]) -> T:
    bar = _Bar(label)
    try:
        return work(bar)
    finally:
        bar.close()


@main.group("passes")
def passes_group() -> None:
    """Kinderpasses: issue, export for printing, block, reissue."""


@passes_group.command("issue")
@click.argument("municipality")
@click.option("--year", type=int, required=True, help="The scheme year, e.g. 2027.")
@pass_ctx
def issue(ctx: Context, municipality: str, year: int) -> None:
    """Issue every eligible child its pass for YEAR, funded from the fund.

    All or nothing: when the fund does not cover the run, nothing is issued.
    Running it again issues only to children who became eligible since.
    QR images are rendered after the passes are committed.
    """

    def run(bar: _Bar):
        with ctx.db.transaction() as session:
            return issue_passes(session, municipality, year, settings=ctx.settings, today=ctx.today, progress=bar,
                                actor=CLI_ACTOR)

    result = _with_bar("issuing passes", run)
    if result.pass_ids:
        rendered = _with_bar(
            "rendering QR codes",
            lambda bar: qr.render_missing(ctx.db, ctx.settings, pass_ids=result.pass_ids, progress=bar),
        )
        click.echo(f"rendered {rendered} QR codes")
    click.echo(result.summary())


@passes_group.command("render")
@click.argument("municipality")
@pass_ctx
def render(ctx: Context, municipality: str) -> None:
    """Render the QR images still missing (after an interrupted issue run)."""
    with ctx.db.read() as session:
        municipality_id = get_municipality(session, municipality).id
    rendered = _with_bar(
        "rendering QR codes",
        lambda bar: qr.render_missing(ctx.db, ctx.settings, municipality_id=municipality_id, progress=bar),
    )
    click.echo(f"rendered {rendered} QR codes")


@passes_group.command("export")
@click.argument("municipality")
@click.option("--csv", "csv_path", required=True, help="Where to write the mail-merge file.")
@pass_ctx
def export(ctx: Context, municipality: str, csv_path: str) -> None:
    """The print house's mail-merge file: one row per pass that is neither
    blocked nor expired, with its QR payload and typed code. Audited like the
    admin page's download (the file is as good as the passes)."""
    with ctx.db.transaction() as session:
        rows = export_rows(session, municipality, settings=ctx.settings, today=ctx.today, actor=CLI_ACTOR)
        count = write_csv(csv_path, EXPORT_COLUMNS, (r.cells() for r in rows))
    click.echo(f"exported {count} passes to {csv_path}")


@passes_group.command("block")
@click.argument("pass_id")
@click.option("--reason", required=True, help="Why, e.g. 'lost, reported by parent on the phone'.")
@pass_ctx
def block(ctx: Context, pass_id: str, reason: str) -> None:
    """Block a lost or stolen pass: its QR and code stop working at once."""
    def work(session: Session) -> str:
        number = block_pass(session, pass_id, reason=reason, actor=CLI_ACTOR).pass_number
        return f"blocked {number}; reissue it with: pasdienst passes reissue {number}"

    ctx.write(work)


@passes_group.command("reissue")
@click.argument("pass_id")
@click.option("--reason", type=click.Choice(REISSUE_REASONS), help="Why (kept in the audit log, as the admin page asks).")
@click.option("--note", default="", help="A few words beside the reason; required with --reason other.")
@pass_ctx
def reissue(ctx: Context, pass_id: str, reason: str | None, note: str) -> None:
    """A new pass for the same child, carrying the remaining balances over.

    Prints the new pass's address and code for its letter; the last line is
    the new pass number.
    """
    note = " ".join(note.split())
    if reason == "other" and not note:
        raise ValidationFailed("--reason other needs a --note saying why")
    if len(note) > 500:
        raise ValidationFailed("--note is at most 500 characters")
    def work(session: Session) -> tuple[int, PassView]:
        new = reissue_pass(session, pass_id, settings=ctx.settings, today=ctx.today, actor=CLI_ACTOR,
                           reason=reason, note=note or None)
        return new.id, pass_view(session, new, settings=ctx.settings, today=ctx.today)

    new_id, view = ctx.db.run(work)  # the QR code after the commit: a rendering problem never undoes the reissue
    qr.render_missing(ctx.db, ctx.settings, pass_ids=[new_id])
    carried = sum(v.balance_cents for v in view.vouchers)
    click.echo(f"reissued as {view.pass_number}: {len(view.vouchers)} vouchers, {format_euros(carried)} carried over")
    click.echo(f"url {view.url}")
    click.echo(f"code {view.code}")
    click.echo(view.pass_number)


@passes_group.command("show")
@click.argument("pass_id")
@pass_ctx
def show(ctx: Context, pass_id: str) -> None:
    """A pass's state and balances, for the help desk (no code, no address)."""
    with ctx.db.read() as session:
        found = find_pass(session, pass_id)
        view = pass_view(session, found, settings=ctx.settings, today=ctx.today)
        newer = replaced_by(session, found)
        reason = found.block_reason
    click.echo(f"{view.pass_number} of {view.first_name}: {view.status}, valid {view.valid_from} to {view.valid_until}")
    if reason:
        click.echo(f"blocked: {reason}")
    if newer:
        click.echo(f"replaced by {newer}")
    for v in view.vouchers:
        left = f"{v.strips_left} strips" if v.strips_left is not None else format_euros(v.balance_cents)
        click.echo(f"  {v.kind:<9} {v.category:<13} {left:>10}  {v.title}")

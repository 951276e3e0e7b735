from __future__ import annotations

import sys

import click

from ..ledger import verify
from ..plugins import load_verify_checks
from .base import Context, main, pass_ctx


@main.group("ledger")
def ledger_group() -> None:
    """The double-entry ledger."""


@ledger_group.command("verify")
@pass_ctx
def verify_cmd(ctx: Context) -> None:
    """Recompute every balance from the postings and check every invariant."""
    load_verify_checks()
    with ctx.db.read() as session:
        report = verify(session)
    for problem in report.problems:
        click.echo(f"PROBLEM {problem}", err=True)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)

from __future__ import annotations

import click

from ..demo import load_demo
from . import Context, main, pass_ctx


@main.command("demo")
@pass_ctx
def demo(ctx: Context) -> None:
    """Load the demo data set (idempotent) and print its logins and links."""
    report = load_demo(ctx.db, ctx.settings, ctx.today)
    for line in report.lines:
        click.echo(line)

from __future__ import annotations

import click

from ..demo import database_is_empty, load_demo, refuse_in_production
from .base import Context, main, pass_ctx


@main.command("demo")
@click.option(
    "--if-empty", is_flag=True,
    help="Only into a database without municipalities or logins (./scripts/serve): never add to real data.",
)
@pass_ctx
def demo(ctx: Context, if_empty: bool) -> None:
    """Load the demo data set (idempotent) and print its logins and links.

    Refused when PASDIENST_ENV=production.
    """
    refuse_in_production(ctx.settings)  # before the database is even opened
    if if_empty and not database_is_empty(ctx.db):
        click.echo("the database already holds data: demo data not loaded (`pasdienst demo` loads it anyway)")
        return
    report = load_demo(ctx.db, ctx.settings, ctx.today)
    for line in report.lines:
        click.echo(line)

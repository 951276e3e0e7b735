from __future__ import annotations

import click

from ..access.policy import CLI_ACTOR
from ..wallet.services import close_year
from .base import Context, main, pass_ctx


@main.command("year-end")
@click.argument("municipality")
@click.option("--year", type=int, required=True, help="The scheme year to close, e.g. 2027.")
@pass_ctx
def year_end(ctx: Context, municipality: str, year: int) -> None:
    """Expire the year's passes and return every unused balance to the fund."""
    ctx.write(lambda session: close_year(session, municipality, year, today=ctx.today, actor=CLI_ACTOR).summary())

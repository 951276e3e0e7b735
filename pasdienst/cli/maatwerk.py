from __future__ import annotations

import click
from sqlalchemy import select

from ..maatwerk.models import Team
from ..maatwerk.services import team_budget_status
from ..money import format_euros
from ..municipalities.services import get_municipality
from ..reports import maatwerk as figures
from ..reports.usage import counted
from .base import Context, main, pass_ctx


@main.group("maatwerk")
def maatwerk_group() -> None:
    """Maatwerk: awards by gebiedsteams and funds (made on /admin/maatwerk and /fonds)."""


@maatwerk_group.command("show")
@click.argument("municipality")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The awards' year (the pass year).")
@pass_ctx
def show(ctx: Context, municipality: str, year: int) -> None:
    """Per team and fund: awards, amount held, amount spent; a team's budget and what is left of it."""
    with ctx.db.read() as session:
        found = get_municipality(session, municipality)
        rows = figures.givers(session, found.id, year, counted(found.id))
        teams = {
            team.id: team_budget_status(session, team, year)
            for team in session.execute(select(Team).where(Team.municipality_id == found.id)).scalars()
        }
    if not rows:
        click.echo(f"{found.code} has no teams or funds")
    for row in rows:
        line = (f"{row.kind:<4} {row.name:<40} {row.awards:>5} awards {format_euros(row.awarded_cents):>12} awarded "
                f"{format_euros(row.spent_cents):>12} spent")
        status = teams.get(row.id) if row.kind == figures.TEAM else None
        if status is not None:
            line += (f"; budget {format_euros(status.budget_cents)}, left {format_euros(status.left_cents)}"
                     if status.budget_cents is not None else f"; no budget for {year}")
        click.echo(line)

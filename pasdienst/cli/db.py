from __future__ import annotations

import click

from .. import migrate
from .base import Context, main, pass_ctx


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def upgrade(ctx: Context, revision: str) -> None:
    """Apply migrations."""
    migrate.upgrade(ctx.db, revision)
    click.echo(f"database at revision {migrate.current_revision(ctx.db)}")


@db_group.command("current")
@pass_ctx
def current(ctx: Context) -> None:
    """Show the applied and the newest revision."""
    click.echo(f"applied {migrate.current_revision(ctx.db)}, newest {migrate.head_revision(ctx.db)}")

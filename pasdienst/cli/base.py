"""The ``pasdienst`` group, its context and its error handling: what every
command module builds on (``from .base import Context, main, pass_ctx``).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import cached_property
from typing import Any

import click
from sqlalchemy.orm import Session

from .. import clock
from ..config import ConfigError, Settings, load_settings
from ..db import Database
from ..errors import PasdienstError


class Context:
    """Settings and database, built only when a command needs them."""

    @cached_property
    def settings(self) -> Settings:
        return load_settings()

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @property
    def today(self) -> date:
        return clock.today(self.settings.today)

    def write(self, work: Callable[[Session], str], *, nothing_to_do: tuple[type[PasdienstError], ...] = ()) -> None:
        """Run ``work`` in one write transaction, again after a deadlock (``Database.run``), and print what it says.

        ``work`` does all of the command's writing and returns its lines (made inside the
        transaction, where the rows it names are loaded); it prints nothing itself, since it may
        run twice. A refusal leaves to ``Group``: one line on stderr, exit 1. One of
        ``nothing_to_do`` (there was nothing to do) is printed as its message, and the command
        ends well.
        """
        try:
            said = self.db.run(work)
        except nothing_to_do as exc:
            click.echo(exc.message)
            return
        click.echo(said)


pass_ctx = click.make_pass_decorator(Context, ensure=True)


class Group(click.Group):
    """Turns domain and configuration errors into a one-line reason."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PasdienstError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=Group)
@click.version_option(package_name="pasdienst")
@click.pass_context
def main(ctx: click.Context) -> None:
    """pasdienst: kindpakket passes, redemptions and settlement."""
    ctx.ensure_object(Context)

"""The ``pasdienst`` group, its context and its error handling: what every
command module builds on (``from .base import Context, main, pass_ctx``).
"""
from __future__ import annotations

import sys
from datetime import date
from functools import cached_property
from typing import Any

import click

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

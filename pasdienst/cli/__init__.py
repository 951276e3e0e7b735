"""The ``pasdienst`` command line (CONTRACT.md, "Command line").

Every command parses its arguments, opens one transaction, calls a service
and prints the outcome. A domain error becomes a one-line reason on stderr
and exit status 1, with the transaction rolled back so nothing changed.
"""
from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

import click

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
    def today(self):  # noqa: ANN201
        from ..clock import today

        return today(self.settings.today)


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


def register() -> None:
    # Each module adds its commands to ``main``; imported here so that
    # ``pasdienst --help`` lists them all.
    from . import access, budget, db, demo, ledger, merchant, municipality, serve  # noqa: F401
    from . import children, passes, scheme, year_end  # noqa: F401
    from . import settlement  # noqa: F401
    from . import backup  # noqa: F401
    from . import worker  # noqa: F401


register()

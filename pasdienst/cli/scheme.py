from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ..access.policy import CLI_ACTOR
from ..wallet.services import load_scheme
from .base import Context, main, pass_ctx
from ._files import read_text


@main.group("scheme")
def scheme_group() -> None:
    """Schemes: what each child gets in a year."""


@scheme_group.command("load")
@click.argument("file")
@pass_ctx
def load(ctx: Context, file: str) -> None:
    """Create or update a municipality's scheme for a year from FILE.toml.

    The whole file is checked first; nothing is stored unless all of it is
    valid. Once passes are issued for the year, the scheme no longer changes.
    """
    text = read_text(file)
    def work(session: Session) -> str:
        result = load_scheme(session, text, actor=CLI_ACTOR)
        scheme = result.scheme
        return f"scheme {result.outcome}: {len(scheme.items)} entitlements, valid {scheme.valid_from} to {scheme.valid_until}"

    ctx.write(work)

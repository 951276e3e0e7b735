from __future__ import annotations

import click

from ..municipalities.services import add_municipality
from . import Context, main, pass_ctx


@main.group("municipality")
def municipality_group() -> None:
    """Municipalities (tenants)."""


@municipality_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name, e.g. 'Gemeente Opsterland'.")
@click.option("--iban", help="The account providers are paid from (needed for SEPA export).")
@click.option("--bic", help="Optional; derived from the IBAN where possible.")
@pass_ctx
def add(ctx: Context, code: str, name: str, iban: str | None, bic: str | None) -> None:
    """Add a municipality with its fund and accounts."""
    with ctx.db.transaction() as session:
        municipality = add_municipality(session, code, name=name, iban=iban, bic=bic)
        code = municipality.code
        summary = f"municipality {code} ({municipality.name})" + (f", IBAN {municipality.iban}" if municipality.iban else "")
    click.echo(f"added {summary}")
    click.echo(code)

from __future__ import annotations

import click

from ..municipalities.services import add_municipality, set_municipality_iban
from .base import Context, main, pass_ctx


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


@municipality_group.command("set-iban")
@click.argument("code")
@click.option("--iban", required=True, help="The account providers are paid from (the debtor of the SEPA file).")
@click.option("--bic", help="Optional; derived from the IBAN where possible.")
@pass_ctx
def set_iban(ctx: Context, code: str, iban: str, bic: str | None) -> None:
    """Set or change the account a municipality pays providers from."""
    with ctx.db.transaction() as session:
        municipality = set_municipality_iban(session, code, iban=iban, bic=bic)
        summary = f"municipality {municipality.code} pays from IBAN {municipality.iban}" + (
            f", BIC {municipality.bic}" if municipality.bic else ""
        )
    click.echo(summary)

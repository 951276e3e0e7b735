from __future__ import annotations

import click

from ..redeem.merchants import add_merchant, list_merchants, set_merchant_status
from ..redeem.models import MERCHANT_STATUSES
from . import Context, main, pass_ctx


@main.group("merchant")
def merchant_group() -> None:
    """Merchants: shops, clubs and schools that take vouchers."""


@merchant_group.command("add")
@click.argument("municipality")
@click.option("--name", required=True, help="Name as shown to families, e.g. 'Fietsenmaker Van Dam'.")
@click.option("--categories", required=True, help="Comma-separated: sport_culture,school,transport,clothing,digital,other.")
@click.option("--iban", required=True, help="Account the merchant is paid to; checked before it is stored.")
@click.option("--bic", help="Optional; derived from the IBAN where possible.")
@click.option("--kvk", "kvk_number", help="Chamber of Commerce number (8 digits).")
@click.option("--email", "contact_email", help="Contact e-mail address.")
@click.option("--status", default="approved", show_default=True, help=f"One of {', '.join(MERCHANT_STATUSES)}.")
@pass_ctx
def add(
    ctx: Context, municipality: str, name: str, categories: str, iban: str, bic: str | None,
    kvk_number: str | None, contact_email: str | None, status: str,
) -> None:
    """Add a merchant with its ledger payable; prints its id as the last line."""
    with ctx.db.transaction() as session:
        merchant = add_merchant(
            session, municipality, name=name, categories=categories, iban=iban, bic=bic,
            kvk_number=kvk_number, contact_email=contact_email, status=status,
        )
        summary = (
            f"added merchant {merchant.name} ({merchant.status}) in {municipality.strip().lower()}: "
            f"{merchant.categories}, IBAN {merchant.iban}" + (f", BIC {merchant.bic}" if merchant.bic else "")
        )
        merchant_id = merchant.id
    click.echo(summary)
    click.echo(str(merchant_id))


@merchant_group.command("list")
@click.argument("municipality")
@click.option("--all", "show_all", is_flag=True, help="Also pending and suspended merchants.")
@pass_ctx
def list_(ctx: Context, municipality: str, show_all: bool) -> None:
    """List a municipality's merchants: id, status, categories, name."""
    with ctx.db.read() as session:
        for m in list_merchants(session, municipality, status=None if show_all else "approved"):
            click.echo(f"{m.id:>6}  {m.status:<9}  {m.categories:<40}  {m.name}")


@merchant_group.command("status")
@click.argument("merchant_id", type=int)
@click.argument("status", type=click.Choice(MERCHANT_STATUSES))
@pass_ctx
def status(ctx: Context, merchant_id: int, status: str) -> None:
    """Approve, suspend or reinstate a merchant."""
    with ctx.db.transaction() as session:
        merchant = set_merchant_status(session, merchant_id, status)
    click.echo(f"merchant {merchant_id} is now {merchant.status}")

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ..merchants.bindings import BindingChange, bind_voucher_code, unbind_voucher_code, voucher_bindings
from ..merchants.records import (
    add_merchant,
    get_merchant,
    list_merchants,
    rename_merchant,
    set_merchant_status,
)
from ..merchants.models import MERCHANT_STATUSES
from .base import Context, main, pass_ctx


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
    def work(session: Session) -> str:
        merchant = add_merchant(
            session, municipality, name=name, categories=categories, iban=iban, bic=bic,
            kvk_number=kvk_number, contact_email=contact_email, status=status,
        )
        return (
            f"added merchant {merchant.name} ({merchant.status}) in {municipality.strip().lower()}: "
            f"{merchant.categories}, IBAN {merchant.iban}" + (f", BIC {merchant.bic}" if merchant.bic else "")
            + f"\n{merchant.id}"
        )

    ctx.write(work)


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
    ctx.write(lambda session: f"merchant {merchant_id} is now {set_merchant_status(session, merchant_id, status).status}")


@merchant_group.command("rename")
@click.argument("merchant_id", type=int)
@click.option("--name", required=True, help="The new name, as the bank knows the account (it goes into payments).")
@pass_ctx
def rename(ctx: Context, merchant_id: int, name: str) -> None:
    """Give a merchant another name (audited). Approved batches keep the old name."""
    def work(session: Session) -> str:
        before = get_merchant(session, merchant_id).name
        after = rename_merchant(session, merchant_id, name).name
        return f"merchant {merchant_id} was already called {after}" if before == after else f"merchant {merchant_id}: {before} is now {after}"

    ctx.write(work)


def _who_takes(change: BindingChange) -> str:
    if not change.bound_to:
        return (
            f"{change.voucher_code} is accepted again by every {change.category} merchant "
            f"of {change.municipality_code}"
        )
    names = ", ".join(f"{name} ({merchant_id})" for merchant_id, name in change.bound_to)
    return f"{change.voucher_code} is accepted only at: {names}"


@merchant_group.command("bind")
@click.argument("merchant_id", type=int)
@click.argument("code")
@pass_ctx
def bind(ctx: Context, merchant_id: int, code: str) -> None:
    """Bind a punch card or cheque (by its scheme code) to a merchant.

    Once a code is bound, only its bound merchants take it; before that,
    every merchant of its category does. Binding twice changes nothing.
    """
    def work(session: Session) -> str:
        change = bind_voucher_code(session, merchant_id, code)
        what = f"{change.kind} {change.voucher_code} ({change.category}, {change.municipality_code})"
        who = f"{change.merchant_name} (merchant {change.merchant_id})"
        return (f"bound {what} to {who}" if change.changed else f"{who} was already bound to {what}") + f"\n{_who_takes(change)}"

    ctx.write(work)


@merchant_group.command("unbind")
@click.argument("merchant_id", type=int)
@click.argument("code")
@pass_ctx
def unbind(ctx: Context, merchant_id: int, code: str) -> None:
    """Remove a merchant's binding to a punch card or cheque code."""
    def work(session: Session) -> str:
        change = unbind_voucher_code(session, merchant_id, code)
        return (
            f"unbound {change.kind} {change.voucher_code} ({change.category}, {change.municipality_code}) "
            f"from {change.merchant_name} (merchant {change.merchant_id})\n{_who_takes(change)}"
        )

    ctx.write(work)


@merchant_group.command("bindings")
@click.argument("municipality")
@pass_ctx
def bindings(ctx: Context, municipality: str) -> None:
    """List the bound punch card and cheque codes of a municipality and their merchants."""
    with ctx.db.read() as session:
        found = voucher_bindings(session, municipality)
    if not found:
        click.echo(f"no bindings in {municipality.strip().lower()}: every code goes by category")
    for code, merchants in found.items():
        click.echo(f"{code}: " + ", ".join(f"{name} ({merchant_id})" for merchant_id, name in merchants))

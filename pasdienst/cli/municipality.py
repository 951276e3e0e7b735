from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ..municipalities.services import add_municipality, get_municipality, set_contact, set_municipality_iban
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
    def work(session: Session) -> str:
        municipality = add_municipality(session, code, name=name, iban=iban, bic=bic)
        return (f"added municipality {municipality.code} ({municipality.name})"
                + (f", IBAN {municipality.iban}" if municipality.iban else "") + f"\n{municipality.code}")

    ctx.write(work)


@municipality_group.command("set-iban")
@click.argument("code")
@click.option("--iban", required=True, help="The account providers are paid from (the debtor of the SEPA file).")
@click.option("--bic", help="Optional; derived from the IBAN where possible.")
@pass_ctx
def set_iban(ctx: Context, code: str, iban: str, bic: str | None) -> None:
    """Set or change the account a municipality pays providers from."""
    def work(session: Session) -> str:
        municipality = set_municipality_iban(session, code, iban=iban, bic=bic)
        return f"municipality {municipality.code} pays from IBAN {municipality.iban}" + (
            f", BIC {municipality.bic}" if municipality.bic else ""
        )

    ctx.write(work)


@municipality_group.command("set-contact")
@click.argument("code")
@click.option("--phone", help="Phone number families call about their pass, e.g. '14 0513'.")
@click.option("--email", help="E-mail address, e.g. kinderpas@opsterland.nl.")
@click.option("--website", help="Web address, e.g. www.opsterland.nl/kinderpas (https:// is added).")
@click.option("--desk", help="The desk's address, e.g. 'Gemeentehuis, Stationsweg 1, Gorredijk'.")
@click.option("--hours", help="The desk's opening hours, e.g. 'ma t/m vr 9.00-12.30 uur'.")
@pass_ctx
def set_contact_command(
    ctx: Context, code: str, phone: str | None, email: str | None, website: str | None, desk: str | None,
    hours: str | None,
) -> None:
    """Set whom families contact about their pass (shown on the pass page and the letters).

    An option left out keeps its value; an empty one ('') clears it.
    """
    given = {"phone": phone, "email": email, "website": website, "desk": desk, "hours": hours}
    def work(session: Session) -> str:
        current = get_municipality(session, code).contact.as_dict()
        wanted = {name: current[name] if value is None else value for name, value in given.items()}
        municipality = set_contact(
            session, code, phone=wanted["phone"], email=wanted["email"], website=wanted["website"],
            desk=wanted["desk"], hours=wanted["hours"],
        )
        contact = municipality.contact.as_dict()
        shown = ", ".join(f"{key} {value}" for key, value in contact.items() if value) or "none (the pages name the municipality only)"
        return f"municipality {municipality.code} contact: {shown}"

    ctx.write(work)

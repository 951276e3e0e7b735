from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ..access.policy import CLI_ACTOR
from ..money import format_euros
from ..municipalities.services import budget_figures, topup_budget
from .base import Context, main, pass_ctx


@main.group("budget")
def budget_group() -> None:
    """Budgets: top-ups and where the money went."""


@budget_group.command("topup", context_settings={"ignore_unknown_options": True})
@click.argument("municipality")
@click.argument("amount")
@click.option("--reference", required=True, help="Council decision, grant letter or invoice number.")
@pass_ctx
def topup(ctx: Context, municipality: str, amount: str, reference: str) -> None:
    """Add AMOUNT euros (e.g. 25000.00) from the external source to the fund."""
    def work(session: Session) -> str:
        posted = topup_budget(session, municipality, amount, reference=reference, actor=CLI_ACTOR)
        figures = budget_figures(session, municipality)
        return (f"topped up {format_euros(posted.amount)} to {municipality}; "
                f"available in fund {format_euros(figures.available)}\n{posted.id}")

    ctx.write(work)


@budget_group.command("show")
@click.argument("municipality")
@pass_ctx
def show(ctx: Context, municipality: str) -> None:
    """Topped up, reserved, spent, settled, paid, returned and available."""
    with ctx.db.read() as session:
        figures = budget_figures(session, municipality)
    labels = {
        "topped_up": "topped up",
        "reserved": "reserved for passes",
        "spent": "spent at providers",
        "settled": "settled (approved)",
        "paid": "paid out",
        "returned": "returned at year end",
        "available": "available in fund",
        "outstanding": "still on passes",
    }
    for key, label in labels.items():
        click.echo(f"{label:<22} {format_euros(getattr(figures, key)):>14}")

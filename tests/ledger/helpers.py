from __future__ import annotations

from sqlalchemy.orm import Session

from pasdienst import ledger


def accounts(session: Session, *specs: tuple[str, bool], ledger_name: str = "t") -> list[int]:
    """Open accounts ``(key, non_negative)`` in one partition; returns ids."""
    return [
        ledger.open_account(session, key=f"{ledger_name}:{key}", kind=key.split("-")[0], ledger=ledger_name, non_negative=nn)
        for key, nn in specs
    ]


def funded(session: Session, cents: int, *, ledger_name: str = "t") -> tuple[int, int, int]:
    """A world account, a non-negative wallet holding ``cents`` and a shop."""
    world, wallet, shop = accounts(
        session, ("world", False), ("wallet", True), ("shop", True), ledger_name=ledger_name
    )
    if cents:
        ledger.transfer(session, kind="topup", source=world, destination=wallet, amount=cents)
    return world, wallet, shop

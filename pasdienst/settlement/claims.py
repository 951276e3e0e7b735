"""Which redemptions are claimed by a settlement batch, and the lock that
keeps claiming and voiding apart.

Kept apart from ``services`` so that ``redeem`` can ask "is this redemption
in a batch?" without importing the settlement services (which import redeem).

The lock: creating or cancelling a batch takes a municipality's settlement
lock exclusively (so do approval, corrections and year end), a void takes it
shared. A void therefore either finishes
before a batch reads the redemptions (and the batch skips the voided one) or
starts after the batch committed (and sees it is claimed); without it, on
PostgreSQL, both could read the other's row before it changed. SQLite needs
no lock: every write transaction there already holds the database's write
lock from its first statement (``BEGIN IMMEDIATE``).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import hold_lock
from .models import SettlementItem


def lock_municipality(session: Session, municipality_id: int, *, shared: bool = False) -> None:
    """Hold the municipality's settlement lock until the transaction ends."""
    hold_lock(session, "settlement", municipality_id, shared=shared)


def batch_of(session: Session, redemption_id: int) -> int | None:
    """The batch that claimed this redemption, if any."""
    return session.execute(
        select(SettlementItem.batch_id).where(SettlementItem.redemption_id == redemption_id)
    ).scalar()


def claimed(session: Session, redemption_ids: Iterable[int]) -> set[int]:
    """Those of ``redemption_ids`` that are in a batch."""
    ids = list(redemption_ids)
    if not ids:
        return set()
    return set(
        session.execute(select(SettlementItem.redemption_id).where(SettlementItem.redemption_id.in_(ids))).scalars()
    )

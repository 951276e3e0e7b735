"""A settled month in ``demodorp`` (a step of ``pasdienst.demo``, after the
payments of the past months).

Everything paid before this month is settled the way finance does it: one
finance user makes the batch, the other approves it (four eyes), the payment
file is made and the batch is marked paid. What was paid this month stays
waiting, so a newcomer can make today's batch on ``/finance``, and the shops
have a statement of last month.

Idempotent: once the municipality has a batch, nothing is added.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.demo import DEMO_STAFF
from ..access.accounts import actor_for_email
from ..clock import AMSTERDAM
from ..clock import now as clock_now
from ..config import Settings
from ..municipalities.services import get_municipality
from ..money import format_euros
from .errors import NothingToSettle
from .models import SettlementBatch
from .batches import approve_batch, create_batch, mark_paid
from .export import build_export, record_export

DEMO_MUNICIPALITY = "demodorp"


class Report(Protocol):
    def add(self, line: str) -> None: ...


def load_settlement_demo(session: Session, report: Report, settings: Settings, today: date) -> None:
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    batch = session.execute(
        select(SettlementBatch).where(SettlementBatch.municipality_id == municipality.id).order_by(SettlementBatch.id)
    ).scalars().first()
    if batch is None:
        batch = _settle_last_months(session, municipality.code, today)
    if batch is None:
        report.add("nothing paid before this month yet: no settled batch (finance settles at /finance)")
        return
    report.add(
        f"settlement batch {batch.id} of payments before {batch.until:%Y-%m-%d} is {batch.status} "
        f"({format_euros(batch.total_cents)}); what was paid since waits for the next one at /finance"
    )


def _settle_last_months(session: Session, code: str, today: date) -> SettlementBatch | None:
    finance = [actor_for_email(session, email) for email, role, _password in DEMO_STAFF if role == "finance"]
    maker, checker = finance[0], finance[1]
    until = today.replace(day=1)
    latest = clock_now(today)

    def at(hour: int, minute: int = 0) -> datetime:
        return min(datetime.combine(until, time(hour, minute), AMSTERDAM), latest)

    try:
        batch = create_batch(session, maker, code, until=until, today=today, now=at(9))
    except NothingToSettle:
        return None
    approve_batch(session, checker, batch.id, now=at(11))
    record_export(session, maker, build_export(session, maker, batch.id, today=until), now=at(11, 30))
    mark_paid(session, maker, batch.id, now=at(16))
    return batch

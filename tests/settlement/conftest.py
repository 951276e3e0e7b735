"""A municipality with two children's passes, three merchants and two finance users.

``world.redeem(...)`` makes a real redemption (the redeem service, so the
ledger moves money from the voucher to the merchant's payable) at a given
moment; settlement tests then batch, approve, export and pay them.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from pasdienst import books, ledger
from pasdienst.clock import AMSTERDAM
from pasdienst.clock import now as clock_now
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.redeem import redemptions
from pasdienst.settlement import batches, export as settlement_export
from pasdienst.settlement.models import SettlementBatch, SettlementItem, SettlementLine, SettlementTransition
from pasdienst.settlement.payment_file import PaymentFile
from pasdienst.wallet.services import resolve_pass
from tests.factories import TODAY, MadeUser, World, issued_world, make_user

MUNICIPALITY = "testdorp"
#: Redemptions in these tests happen in the first half of March 2027; the
#: batch is made on TODAY (15 March) for everything before it.
UNTIL = TODAY
_keys = itertools.count(1)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment on ``day`` March 2027, Amsterdam time."""
    return datetime.combine(date(2027, 3, day), time(hour, minute), AMSTERDAM)


@dataclass(kw_only=True)
class SettlementWorld(World):
    """``issued_world`` with three merchants of ``testdorp`` and its finance people.

    ``merchants``: "sport" takes sport_culture, "school" school, "mode" clothing.
    """

    #: child ref → (QR payload, {(kind, category): voucher id})
    passes: dict[str, tuple[str, dict]]
    finance: MadeUser
    finance2: MadeUser
    admin: MadeUser
    made: list[int] = field(default_factory=list)

    def redeem(self, merchant: str, cents: int, when: datetime, *, child: str = "T-1", voucher: tuple[str, str] | None = None) -> int:
        """A redemption of ``cents`` at ``merchant`` at ``when``; returns its id."""
        category = {"sport": "sport_culture", "school": "school", "mode": "clothing"}[merchant]
        payload, vouchers = self.passes[child]
        kind_category = voucher or (("cheque", "clothing") if merchant == "mode" else ("budget", category))
        actor = self.till(merchant)
        with self.db.transaction() as s:
            result = redemptions.redeem(
                s, actor, code=payload, voucher_id=vouchers[kind_category], amount_cents=cents,
                idempotency_key=f"k{next(_keys)}", settings=self.settings, today=when.astimezone(AMSTERDAM).date(),
                now=when,
            )
        self.made.append(result.id)
        return result.id

    def verify(self) -> list[str]:
        with self.db.read() as s:
            return [str(p) for p in verify(s).problems]


@pytest.fixture
def world_settings(settings: Settings) -> Settings:
    return replace(settings, today=TODAY)


@pytest.fixture
def world(db: Database, world_settings: Settings) -> SettlementWorld:
    issued = issued_world(
        db, world_settings,
        sport=("Sportclub De Sprint", ("sport_culture",)),
        school=("Boekhandel Het Leesteken", ("school",)),
        mode=("Mode & Zo", ("clothing",)),
    )
    with db.read() as s:
        passes = {
            ref: (row.url, issued.vouchers[resolve_pass(s, row.url, settings=world_settings, today=TODAY).id])
            for ref, row in issued.rows.items()
        }
    return SettlementWorld(
        **vars(issued),
        passes=passes,
        finance=make_user(db, "finance", email="fin1@testdorp.example"),
        finance2=make_user(db, "finance", email="fin2@testdorp.example"),
        admin=make_user(db, "admin", email="beheer@testdorp.example"),
    )


# Each step happens on the day the test names (TODAY unless it says otherwise),
# at the machine's time of day, as the pages do with PASDIENST_TODAY: left to
# the real clock, a batch approved "today" would be approved on the day the
# suite runs, and its payment date would follow the calendar, not the test.

def create(world: SettlementWorld, *, by=None, until: date = UNTIL, today: date | None = None) -> SettlementBatch:
    with world.db.transaction() as s:
        return batches.create_batch(s, world.actor(by or world.finance), "testdorp", until=until, today=today or until,
                                    now=clock_now(today or until))


def approve(world: SettlementWorld, batch_id: int, *, by=None, today: date = TODAY) -> batches.StepResult:
    with world.db.transaction() as s:
        return batches.approve_batch(s, world.actor(by or world.finance2), batch_id, now=clock_now(today))


def export(world: SettlementWorld, batch_id: int, *, today: date = TODAY) -> PaymentFile:
    with world.db.read() as s:
        files = settlement_export.build_export(s, world.actor(world.finance), batch_id, schema=world.settings.sepa_schema, today=today)
    with world.db.transaction() as s:
        settlement_export.record_export(s, world.actor(world.finance), files, now=clock_now(today))
    return files


def pay(world: SettlementWorld, batch_id: int, *, today: date = TODAY) -> batches.StepResult:
    with world.db.transaction() as s:
        return batches.mark_paid(s, world.actor(world.finance), batch_id, now=clock_now(today))


def lines(world: SettlementWorld, batch_id: int) -> dict[int, tuple[int, int]]:
    with world.db.read() as s:
        return {
            line.merchant_id: (line.count, line.total_cents)
            for line in s.execute(select(SettlementLine).where(SettlementLine.batch_id == batch_id)).scalars()
        }


def counts(world: SettlementWorld) -> tuple[int, int, int, int]:
    with world.db.read() as s:
        return tuple(
            s.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (SettlementBatch, SettlementLine, SettlementItem, SettlementTransition)
        )


def balance(world: SettlementWorld, key: str) -> int:
    with world.db.read() as s:
        return ledger.balance(s, ledger.get_account(s, key).id)


def payable(world: SettlementWorld, merchant: str) -> int:
    return balance(world, books.merchant_key("testdorp", world.merchants[merchant]))


def a_month(world: SettlementWorld) -> dict[str, list[int]]:
    """Redemptions at all three merchants on several days before UNTIL."""
    made = {
        "sport": [world.redeem("sport", 1250, at(2)), world.redeem("sport", 2000, at(9, 18), child="T-2")],
        "school": [world.redeem("school", 1999, at(3))],
        "mode": [world.redeem("mode", 7500, at(14, 23, 30))],
    }
    return made



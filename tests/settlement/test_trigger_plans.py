"""The settlement triggers look a batch up by its key, whatever the statistics say.

The same rule as the ledger's checks (tests/ledger/test_growth.py): a
trigger's plan is kept for the life of a connection, so it must not be a
scan that was only cheap while ``settlement_batch`` was small.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select, text

from pasdienst.settlement.models import SettlementItem, SettlementLine
from tests.ledger.helpers import scans, sqlite_trigger_scans, tiny_statistics

from .conftest import at, create


@pytest.mark.parametrize("backend", ["postgresql"])
def test_changing_lines_and_items_of_a_draft_looks_its_batch_up_by_key(world):
    world.redeem("sport", 500, at(2))
    batch = create(world)
    tiny_statistics(world.db, "settlement_batch", "settlement_line", "settlement_item")
    with world.db.transaction() as s:
        line = s.execute(select(SettlementLine.id).where(SettlementLine.batch_id == batch.id)).scalar_one()
        s.execute(text("UPDATE settlement_line SET count = count WHERE id = :id"), {"id": line})
        s.execute(text("DELETE FROM settlement_item WHERE batch_id = :b"), {"b": batch.id})
        seen = scans(s, "settlement_batch")
        s.rollback()
    assert seen["settlement_batch"][0] == 0 and seen["settlement_batch"][1] >= 2


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_settlement_checks_seek_their_batch(world):
    world.redeem("sport", 500, at(2))
    create(world)
    with world.db.transaction() as s:
        s.execute(text("ANALYZE"))
        assert s.execute(select(SettlementItem.batch_id)).first() is not None
    raw = sqlite3.connect(world.db.engine.url.database)
    try:
        for sql in ("UPDATE settlement_line SET count = count WHERE id = ?", "DELETE FROM settlement_item WHERE batch_id = ?"):
            scanned, sought = sqlite_trigger_scans(raw, sql, (1,))
            assert scanned == set() and "settlement_batch" in sought, sql
    finally:
        raw.close()

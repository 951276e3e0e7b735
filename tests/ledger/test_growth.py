"""The ledger's checking triggers stay keyed index lookups, whatever the statistics say.

PostgreSQL plans a trigger's queries once per connection and keeps the plan.
Planned from the statistics of a tiny ledger (or during a first statement
that brought many rows) the checks became scans of the whole table, which a
long-lived pooled connection then paid on every transfer as the ledger grew
(docs/benchmarks.md, "The ledger as it grows"). Here PostgreSQL is given the
statistics of a tiny ledger and the tests count the sequential scans the
triggers make; on SQLite they read the trigger programs the database
compiled for the ledger's own INSERT statements.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

import pasdienst.db.engine
from pasdienst import ledger
from pasdienst.ledger import NewTransfer, open_accounts

from .helpers import funded, scans, sqlite_trigger_scans, tiny_statistics


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_transfer_is_checked_by_index_lookups_on_statistics_of_a_tiny_ledger(db):
    with db.transaction() as s:
        funded(s, 1000)
    tiny_statistics(db, "ledger_transfer", "ledger_posting", "ledger_account")
    with db.transaction() as s:
        world, wallet, shop = (ledger.get_account(s, f"t:{k}").id for k in ("world", "wallet", "shop"))
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=100)
        # ledger_transfer is read only by the sealing check of the postings,
        # ledger_posting only by the balance check of the transfer (the
        # foreign key to ledger_transfer is checked later, at COMMIT).
        seen = scans(s, "ledger_transfer", "ledger_posting")
    assert seen["ledger_transfer"][0] == 0 and seen["ledger_transfer"][1] >= 1
    assert seen["ledger_posting"][0] == 0 and seen["ledger_posting"][1] >= 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_large_first_batch_does_not_leave_a_whole_table_plan_for_later_transfers(db):
    with db.transaction() as s:
        world, wallet, shop = funded(s, 1000)
        wallets = open_accounts(s, [(f"t:w{i}", "voucher", "t", True) for i in range(100)])
    tiny_statistics(db, "ledger_transfer", "ledger_posting", "ledger_account")
    # The connection's first check sees 2,000 new postings at once: a hash
    # join over the whole of ledger_transfer would be the cheapest plan for
    # that statement alone, and the one kept for every statement after it.
    with db.transaction() as s:
        ledger.post_many(s, [NewTransfer.move("topup", world, wallets[i % 100], 1) for i in range(1000)])
    with db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=100)
        seen = scans(s, "ledger_transfer", "ledger_posting")
    assert seen["ledger_transfer"][0] == 0 and seen["ledger_posting"][0] == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_checks_seek_by_index_even_after_analyze_of_a_tiny_ledger(db):
    with db.transaction() as s:
        funded(s, 1000)
        s.execute(text("ANALYZE"))
    raw = sqlite3.connect(db.engine.url.database)
    try:
        posting = "INSERT INTO ledger_posting (transfer_id, account_id, amount) VALUES (?, ?, ?)"
        scanned, sought = sqlite_trigger_scans(raw, posting, ("0" * 32, 1, 1))
        assert scanned == set() and "sqlite_autoindex_ledger_transfer_1" in sought
        transfer = (
            "INSERT INTO ledger_transfer (id, ledger, kind, amount, fingerprint, created_at) "
            "VALUES (?, 't', 'x', 1, 'f', CURRENT_TIMESTAMP)"
        )
        scanned, sought = sqlite_trigger_scans(raw, transfer, ("0" * 32,))
        assert scanned == set() and "ix_ledger_posting_transfer_id" in sought
    finally:
        raw.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_pooled_connection_plans_afresh_so_its_foreign_key_checks_follow_the_ledger(db, monkeypatch):
    monkeypatch.setattr(pasdienst.db.engine, "REPLAN_EVERY", 50)
    with db.transaction() as s:
        world, wallet, shop = funded(s, 10_000)
    tiny_statistics(db, "ledger_transfer", "ledger_posting", "ledger_account")
    # PostgreSQL's own check that each posting's transfer exists gets its
    # lasting plan on this tiny ledger: a scan of ledger_transfer.
    for _ in range(6):
        with db.transaction() as s:
            ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1)
    with db.transaction() as s:
        ledger.post_many(s, [NewTransfer.move("topup", world, wallet, 1) for _ in range(5000)])
    for _ in range(50):
        with db.read() as s:
            s.execute(text("SELECT 1"))
    with db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1)
        s.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the deferred check runs now, in view
        seen = scans(s, "ledger_transfer")
    assert seen["ledger_transfer"] == (0, seen["ledger_transfer"][1]) and seen["ledger_transfer"][1] >= 2

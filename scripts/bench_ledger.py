#!/usr/bin/env python
"""Ledger throughput, next to a raw driver loop running the same statements.

Prints, for SQLite (file, WAL, synchronous=FULL) and PostgreSQL:
* single transfers per second through ``pasdienst.ledger.transfer`` (one
  transaction each), and the same statements through the bare driver
  (sqlite3 / psycopg) in the same run, alternated in 7 rounds (medians), and
  their ratio (target >= 0.5);
* the time to post a batch of 100,000 transfers with ``post_many`` (target < 20 s).

Usage: .venv/bin/python -m scripts.bench_ledger [--transfers 3000] [--batch 100000] [--only sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pasdienst import ledger, migrate
from pasdienst.db import Database
from pasdienst.ledger import NewTransfer, open_accounts

PG_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "pasdienst_bench_ledger"
WALLETS = 1000

GUARDED = (
    "UPDATE ledger_account SET balance = balance + {p} WHERE id = {p} "
    "AND (non_negative = false OR balance + {p} >= 0) RETURNING ledger"
)
CREDIT = "UPDATE ledger_account SET balance = balance + {p} WHERE id = {p} RETURNING ledger"
POSTINGS = "INSERT INTO ledger_posting (transfer_id, account_id, amount) VALUES ({p}, {p}, {p}), ({p}, {p}, {p})"
TRANSFER = (
    "INSERT INTO ledger_transfer (id, ledger, kind, amount, reference, idempotency_key, fingerprint, reverses_id, created_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
)


def setup(db: Database, wallet_cents: int) -> tuple[int, list[int], int]:
    """A world account, WALLETS funded wallets and one shop, in ledger 'bench'."""
    with db.transaction() as s:
        world = ledger.open_account(s, key="bench:world", kind="source", ledger="bench", non_negative=False)
        shop = ledger.open_account(s, key="bench:shop", kind="merchant_payable", ledger="bench", non_negative=True)
        wallets = open_accounts(s, [(f"bench:wallet:{i}", "voucher", "bench", True) for i in range(WALLETS)])
        ledger.post_many(s, [NewTransfer.move("topup", world, w, wallet_cents) for w in wallets])
    return world, wallets, shop


def through_ledger(db: Database, wallets: list[int], shop: int, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        with db.transaction() as s:
            ledger.transfer(s, kind="redeem", source=wallets[i % WALLETS], destination=shop, amount=1)
    return n / (time.perf_counter() - start)


def raw_sqlite(path: str, wallets: list[int], shop: int, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    p = "?"
    guarded, credit, postings, transfer = (q.format(p=p) for q in (GUARDED, CREDIT, POSTINGS, TRANSFER))
    start = time.perf_counter()
    for i in range(n):
        wallet, tid = wallets[i % WALLETS], uuid.uuid4().hex
        conn.execute("BEGIN IMMEDIATE")
        # ascending id order, as the ledger does
        first, second = sorted([(wallet, -1), (shop, 1)])
        for account, delta in (first, second):
            if delta < 0:
                assert conn.execute(guarded, (delta, account, delta)).fetchone()
            else:
                assert conn.execute(credit, (delta, account)).fetchone()
        conn.execute(postings, (tid, wallet, -1, tid, shop, 1))
        conn.execute(
            transfer,
            (tid, "bench", "redeem", 1, None, None, "x" * 64, None, datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ")),
        )
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def raw_postgres(wallets: list[int], shop: int, n: int) -> float:
    u = make_url(PG_URL)
    conn = psycopg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database,
        options=f"-csearch_path={SCHEMA}",
    )
    p = "%s"
    guarded, credit, postings, transfer = (q.format(p=p) for q in (GUARDED, CREDIT, POSTINGS, TRANSFER))
    start = time.perf_counter()
    for i in range(n):
        wallet, tid = wallets[i % WALLETS], uuid.uuid4()
        with conn.transaction():
            first, second = sorted([(wallet, -1), (shop, 1)])
            for account, delta in (first, second):
                if delta < 0:
                    assert conn.execute(guarded, (delta, account, delta)).fetchone()
                else:
                    assert conn.execute(credit, (delta, account)).fetchone()
            conn.execute(postings, (tid, wallet, -1, tid, shop, 1))
            conn.execute(transfer, (tid, "bench", "redeem", 1, None, None, "x" * 64, None, datetime.now(timezone.utc)))
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def batch(db: Database, wallets: list[int], shop: int, n: int) -> float:
    transfers = [NewTransfer.move("redeem", wallets[i % WALLETS], shop, 1) for i in range(n)]
    start = time.perf_counter()
    with db.transaction() as s:
        ledger.post_many(s, transfers)
    return time.perf_counter() - start


def verify_ok(db: Database) -> bool:
    from pasdienst.ledger import verify

    with db.read() as s:
        return verify(s).ok


def run(name: str, db: Database, raw, n: int, batch_size: int) -> None:
    migrate.upgrade(db)
    # Each round starts again at the first wallet: fund each for every
    # single transfer of both paths, plus its share of the batch.
    per_wallet = 2 * (n + 200) + batch_size // WALLETS + 10
    _, wallets, shop = setup(db, per_wallet)
    # Warm up both paths, then alternate them in rounds and take the medians,
    # so a burst of load elsewhere on the machine hits both alike.
    through_ledger(db, wallets, shop, 200)
    raw(wallets, shop, 200)
    rounds = 7
    ours_rates, bare_rates = [], []
    for _ in range(rounds):
        ours_rates.append(through_ledger(db, wallets, shop, n // rounds))
        bare_rates.append(raw(wallets, shop, n // rounds))
    ours, bare = statistics.median(ours_rates), statistics.median(bare_rates)
    seconds = batch(db, wallets, shop, batch_size)
    print(
        f"{name:<10} ledger.transfer {ours:8.0f}/s   raw driver {bare:8.0f}/s   ratio {ours / bare:5.2f}   "
        f"post_many of {batch_size:,}: {seconds:5.1f} s   verify: {'ok' if verify_ok(db) else 'FAILED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"single transfers: {args.transfers} each way, one transaction each; batch: {args.batch:,} transfers in one transaction")
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/bench.db"
            db = Database(f"sqlite:///{path}")
            run("SQLite", db, lambda w, s, n: raw_sqlite(path, w, s, n), args.transfers, args.batch)
            db.dispose()
    if args.only in (None, "postgresql"):
        admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        url = make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        db = Database(url.render_as_string(hide_password=False))
        try:
            run("PostgreSQL", db, raw_postgres, args.transfers, args.batch)
        finally:
            db.dispose()
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""The cost of one transfer as the ledger grows, on one long-lived connection.

Writes ``--transfers`` (default 100,000) transfers from 20 wallets to a
merchant payable on one pooled connection that starts on a young ledger (20
top-ups) and lives as long as the run, as a gunicorn worker's would. Each
block of ``--block`` transfers ends with ``--measure`` single transfers
through ``pasdienst.ledger.transfer``, one transaction each, that are timed;
the rest of the block is written with ``post_many`` on the same connection
(``--fill single``: every transfer singly, which takes hours on a loaded
machine). Prints, per block:
the wall time per transfer, the database's CPU time per transfer (the
PostgreSQL backend's, read from /proc; on SQLite this process's), and on
PostgreSQL the sequential scans of the ledger tables in that block.

Statistics (``--stats``):
* ``small`` (default): ``ANALYZE`` once while the ledger is young, as
  autovacuum does after the first rows, and never again: the harsh case.
* ``none``: the tables are never analyzed.
Nothing analyzes during or after the growth, and autovacuum is switched off
for the benchmark's tables, so no refreshed statistics can hide a plan that
does not scale.

Commits do not wait for the disk unless ``--durable`` is given
(PostgreSQL ``synchronous_commit=off``, SQLite ``synchronous=NORMAL``): what
grows with the ledger is the work per transfer, and an fsync on a shared
disk only adds noise to it.

The machine is shared, so a start-to-end ratio of two moments in time mixes
the ledger's growth with the load of the moment. After the growth the
benchmark therefore also alternates ``--rounds`` short blocks between the
grown ledger (same connection) and a young ledger set up the same way (its own
connection), and reports the median ratio grown / young: the growth figure
(target <= 1.5).

Usage: .venv/bin/python -m scripts.bench_ledger_growth [--transfers 100000] [--block 10000] [--measure 2000] [--fill bulk|single]
           [--stats small|none] [--only sqlite|postgresql] [--rounds 7] [--round-size 500] [--durable]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from pasdienst import ledger, migrate
from pasdienst.db import Database
from pasdienst.ledger import NewTransfer, open_accounts, verify

PG_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WALLETS = 20
LEDGER_TABLES = ("ledger_account", "ledger_posting", "ledger_transfer")


@dataclass
class Ledger:
    """One ledger on one connection: a funded set of wallets and a shop."""

    name: str
    db: Database
    wallets: list[int]
    shop: int
    cpu: Callable[[], float]  # seconds of database CPU so far
    seq_scans: Callable[[], dict[str, int]]
    next: int = 0

    def fill(self, n: int) -> None:
        """Grow the ledger by ``n`` transfers through ``post_many`` (COPY on
        PostgreSQL) on the same connection: its triggers and foreign-key
        checks run on the same cached plans as a single transfer's."""
        for start in range(0, n, 10_000):
            count = min(10_000, n - start)
            batch = [
                NewTransfer.move("redeem", self.wallets[(self.next + i) % WALLETS], self.shop, 1) for i in range(count)
            ]
            self.next += count
            with self.db.transaction() as s:
                ledger.post_many(s, batch)

    def write(self, n: int) -> tuple[float, float]:
        """Write ``n`` transfers; (wall, database CPU) seconds per transfer."""
        cpu0, wall0 = self.cpu(), time.perf_counter()
        for _ in range(n):
            wallet = self.wallets[self.next % WALLETS]
            self.next += 1
            with self.db.transaction() as s:
                ledger.transfer(s, kind="redeem", source=wallet, destination=self.shop, amount=1)
        return (time.perf_counter() - wall0) / n, (self.cpu() - cpu0) / n


def set_up(db: Database, *, per_wallet: int, analyze: bool) -> tuple[list[int], int]:
    migrate.upgrade(db)
    if db.dialect == "postgresql":
        with db.transaction() as s:
            for table in LEDGER_TABLES:
                s.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    with db.transaction() as s:
        world = ledger.open_account(s, key="bench:world", kind="source", ledger="bench", non_negative=False)
        shop = ledger.open_account(
            s, key="bench:shop", kind="merchant_payable", ledger="bench", non_negative=False, balance_cached=False
        )
        wallets = open_accounts(s, [(f"bench:wallet:{i}", "voucher", "bench", True) for i in range(WALLETS)])
        ledger.post_many(s, [NewTransfer.move("topup", world, w, per_wallet) for w in wallets])
    if analyze:
        with db.transaction() as s:
            s.execute(text("ANALYZE"))
    # The benchmark's connection is made after the statistics: its plans are
    # made from them.
    db.engine.dispose()
    return wallets, shop


def postgres_ledger(name: str, schema: str, *, per_wallet: int, analyze: bool, durable: bool) -> Ledger:
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict(
        {"options": f"-csearch_path={schema}" + ("" if durable else " -csynchronous_commit=off")}
    )
    db = Database(url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    wallets, shop = set_up(db, per_wallet=per_wallet, analyze=analyze)
    with db.read() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def cpu() -> float:
        # schedstat: nanoseconds on a CPU, finer than utime's clock ticks.
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9

    def seq_scans() -> dict[str, int]:
        # Counted by the benchmark's own connection, so what it did is
        # flushed: pg_stat_user_tables lags by up to a second per backend.
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            rows = conn.execute(
                text("SELECT relname, seq_scan FROM pg_stat_user_tables WHERE schemaname = :s AND relname = ANY(:t)"),
                {"s": schema, "t": list(LEDGER_TABLES)},
            )
            return dict(rows.all())

    led = Ledger(name, db, wallets, shop, cpu, seq_scans)
    led._admin = admin
    led._schema = schema
    return led


def sqlite_ledger(name: str, path: str, *, per_wallet: int, analyze: bool, durable: bool) -> Ledger:
    db = Database(f"sqlite:///{path}", pool_size=1, max_overflow=0)
    if not durable:
        @event.listens_for(db.engine, "connect")
        def _no_fsync_per_commit(dbapi_conn, _record) -> None:
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    wallets, shop = set_up(db, per_wallet=per_wallet, analyze=analyze)
    return Ledger(name, db, wallets, shop, time.process_time, lambda: {})


def drop(led: Ledger) -> None:
    led.db.dispose()
    admin = getattr(led, "_admin", None)
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {led._schema} CASCADE"))
        admin.dispose()


def run(database: str, make: Callable[[str, bool], Ledger], args: argparse.Namespace) -> None:
    analyze = args.stats == "small"
    # Both ledgers are set up before either connection plans anything:
    # creating a schema later would send the grown connection enough cache
    # invalidations to make it plan afresh, and hide what is measured.
    young = make("young", analyze)
    grown = make("grown", analyze)
    grown.write(200)  # warm-up: each connection makes its plans here, on a young ledger
    young.write(200)
    measure = args.block if args.fill == "single" else min(args.measure, args.block)
    print(f"\n{database}: {args.transfers:,} transfers on one connection; statistics: {args.stats}; "
          f"{'durable' if args.durable else 'no fsync per'} commit; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.fill == "bulk":
        print(f"each block: {args.block - measure:,} transfers through post_many, then {measure:,} single transfers timed")
    print("| transfers written | wall ms/transfer | database CPU µs/transfer | seq scans: ledger_transfer / _posting / _account |")
    print("|---:|---:|---:|---:|")
    blocks = []
    scans_before = grown.seq_scans()

    def timed(fill: int) -> None:
        nonlocal scans_before
        grown.fill(fill)
        wall, cpu = grown.write(measure)
        scans = grown.seq_scans()
        shown = " / ".join(f"{scans[t] - scans_before[t]:,}" for t in reversed(LEDGER_TABLES)) if scans else "–"
        scans_before = scans
        blocks.append((wall, cpu))
        print(f"| {grown.next:,} | {wall * 1e3:.3f} | {cpu * 1e6:.0f} | {shown} |", flush=True)

    if args.fill == "bulk":
        timed(0)  # the start: a young ledger
    for _ in range(args.block, args.transfers + 1, args.block):
        timed(args.block - measure)
    (w0, c0), (w1, c1) = blocks[0], blocks[-1]
    print(f"start → end (first and last timed block): wall {w0 * 1e3:.3f} → {w1 * 1e3:.3f} ms ({w1 / w0:.2f}×), "
          f"database CPU {c0 * 1e6:.0f} → {c1 * 1e6:.0f} µs ({c1 / c0:.2f}×); load average {os.getloadavg()[0]:.1f}")

    walls, cpus = [], []
    for _ in range(args.rounds):
        gw, gc = grown.write(args.round_size)
        yw, yc = young.write(args.round_size)
        walls.append(gw / yw)
        cpus.append(gc / yc)
    print(f"grown ({grown.next:,} transfers) / young ({young.next:,}), {args.rounds} alternating rounds of "
          f"{args.round_size}: wall ×{statistics.median(walls):.2f}, database CPU ×{statistics.median(cpus):.2f} "
          f"(medians; target ≤ 1.5); load average {os.getloadavg()[0]:.1f}")
    with grown.db.read() as s:
        report = verify(s)
    print(f"ledger verify: {'ok' if report.ok else report.problems}")
    drop(young)
    drop(grown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--block", type=int, default=10_000)
    parser.add_argument("--stats", choices=["small", "none"], default="small")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-size", type=int, default=500)
    parser.add_argument("--measure", type=int, default=2000, help="single transfers timed per block (with --fill bulk)")
    parser.add_argument(
        "--fill", choices=["bulk", "single"], default="bulk",
        help="grow the ledger between timings with post_many (bulk) or write every transfer singly",
    )
    parser.add_argument("--durable", action="store_true", help="commits wait for the disk, as in production")
    args = parser.parse_args()
    per_wallet = (args.transfers + args.rounds * args.round_size) // WALLETS + 1000
    if args.only in (None, "postgresql"):
        run(
            "PostgreSQL",
            lambda name, analyze: postgres_ledger(
                name, f"pasdienst_bench_growth_{name}", per_wallet=per_wallet, analyze=analyze, durable=args.durable
            ),
            args,
        )
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            run(
                "SQLite",
                lambda name, analyze: sqlite_ledger(
                    name, f"{tmp}/{name}.db", per_wallet=per_wallet, analyze=analyze, durable=args.durable
                ),
                args,
            )


if __name__ == "__main__":
    main()

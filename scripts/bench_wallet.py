#!/usr/bin/env python
"""Wallet figures (issue 3) on SQLite and PostgreSQL.

For each database, from an empty migrated schema:
* import of N children from one CSV (target: 100,000 in < 30 s), and the
  same file again (must import 0, update 0);
* issuing for those N children, three vouchers each: a budget, a punch card
  and a cheque (target: 100,000 in < 60 s), then ``ledger verify``;
* QR images for Q passes rendered over a process pool and stored
  (target: 10,000 in < 60 s, both cores).

Usage: .venv/bin/python -m scripts.bench_wallet [--children 100000] [--qr 10000] [--only sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from datetime import date

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pasdienst import migrate
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.plugins import load_verify_checks
from pasdienst.wallet import qr
from pasdienst.wallet.models import PassImage
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import import_children, issue_passes, load_scheme

PG_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "pasdienst_bench_wallet"
TODAY = date(2027, 1, 10)
NAMES = ["Nora", "Elif", "Omar", "Stijn", "Jayden", "Amira", "Thijs", "Cas", "Fenna", "Gijs", "Maud", "Saar", "Noah", "Liam"]

SCHEME = sample_scheme("bench", 2027, budgets={"sport_culture": "150.00"})


def bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:  # the elfproef: the weighted sum minus the last digit is 0 mod 11
            return "".join(map(str, digits)) + str(check)


def children_csv(n: int) -> bytes:
    """A municipality-style export: BOM, ';', mixed date orders and income forms.
    Every child is 4 to 17 on 1 January 2027 and at or below 120 %, so each
    gets all three vouchers."""
    rng = random.Random(3)
    lines = ["\ufeffChild_Ref;First_Name;Birth_Date;Household_Ref;Income_Pct;Override_Reason;BSN;Email;Postcode"]
    seen: set[str] = set()
    for i in range(n):
        born = date(2009 + rng.randrange(13), 1 + rng.randrange(12), 1 + rng.randrange(28))
        written = born.isoformat() if i % 2 else born.strftime("%d-%m-%Y")
        number = bsn(rng)
        while number in seen:
            number = bsn(rng)
        seen.add(number)
        income = 90 + rng.randrange(31)
        lines.append(
            f"B-{i:07d};{rng.choice(NAMES)};{written};HH{i // 2:07d};{income}{'%' if i % 3 else ''};;{number};;9251 AA"
        )
    return ("\n".join(lines) + "\n").encode()


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the QR workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, work):
    """Wall time, plus the CPU time spent in Python (ours and our workers').

    The machine is shared: the load average says how much of it we had.
    The database server's own CPU time is not in the CPU column.
    """
    start, cpu = time.perf_counter(), _cpu()
    result = work()
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    print(f"  {label:<44} {elapsed:7.2f} s wall, {used:6.2f} s CPU, load {os.getloadavg()[0]:.1f}", flush=True)
    return result, elapsed


def run(name: str, db: Database, settings: Settings, data: bytes, qr_count: int) -> dict[str, float]:
    print(f"{name}:", flush=True)
    with db.transaction() as s:
        add_municipality(s, "bench", name="Gemeente Bench")
        topup_budget(s, "bench", 10**12, reference="bench")
        load_scheme(s, SCHEME)
    figures: dict[str, float] = {}

    def do_import():
        with db.transaction() as s:
            return import_children(s, "bench", data, settings=settings, today=TODAY)

    result, figures["import"] = timed("import children", do_import)
    print(f"    {result.summary()}")
    result, figures["reimport"] = timed("import the same file again", do_import)
    print(f"    {result.summary()}")
    assert result.imported == 0 and result.updated == 0

    def do_issue():
        with db.transaction() as s:
            return issue_passes(s, "bench", 2027, settings=settings, today=TODAY)

    issued, figures["issue"] = timed("issue passes (money, committed)", do_issue)
    print(f"    {issued.summary()}")

    def do_verify() -> bool:
        load_verify_checks()
        with db.read() as s:
            return verify(s).ok

    ok, figures["verify"] = timed("ledger verify", do_verify)
    assert ok, "ledger verify failed"

    ids = issued.pass_ids[:qr_count]
    rendered, figures["qr"] = timed(f"render and store {len(ids)} QR images", lambda: qr.render_missing(db, settings, pass_ids=ids))
    with db.read() as s:
        stored = s.execute(select(func.count()).select_from(PassImage)).scalar_one()
        size = s.execute(select(func.avg(func.length(PassImage.png) + func.length(PassImage.svg)))).scalar_one()
    print(f"    {rendered} rendered, {stored} stored, {float(size or 0) / 1024:.1f} KiB per pass (PNG + SVG)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--qr", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()

    data, _ = timed(f"generate a CSV of {args.children} children", lambda: children_csv(args.children))
    print(f"  ({len(data) / 1e6:.1f} MB, {os.cpu_count()} cores)")
    settings = Settings(secret_keys=("bench-secret-key-0123456789",), base_url="https://kindpakket.opsterland.nl")
    results: dict[str, dict[str, float]] = {}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            migrate.upgrade(db)
            results["SQLite"] = run("SQLite (file, WAL, synchronous=FULL)", db, settings, data, args.qr)
            db.dispose()
    if args.only in (None, "postgresql"):
        admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        url = make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        try:
            db = Database(url.render_as_string(hide_password=False))
            migrate.upgrade(db)
            results["PostgreSQL"] = run("PostgreSQL", db, settings, data, args.qr)
            db.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin.dispose()

    print()
    print(f"| database | import {args.children:,} | re-import | issue {args.children:,} × 3 vouchers | verify | {args.qr:,} QR images |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in results.items():
        print(f"| {name} | {f['import']:.1f} s | {f['reimport']:.1f} s | {f['issue']:.1f} s | {f['verify']:.1f} s | {f['qr']:.1f} s |")


if __name__ == "__main__":
    main()

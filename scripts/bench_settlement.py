#!/usr/bin/env python
"""Settlement figures (issue 5) on SQLite and PostgreSQL.

For each database, from an empty migrated schema: one municipality, 1,000
merchants (``add_merchant``: checked IBAN, ledger payable), one issued pass,
two finance users; then N redemptions (default 1,000,000) spread over
February and over the merchants, loaded with one set-based ``INSERT …
SELECT`` (generate_series / a recursive CTE).

The ledger side the redemptions imply is posted in aggregate: one transfer
per merchant, from a synthetic source account to the merchant's payable, for
exactly the sum of its redemptions. That is what approval's guarded debits
need (each payable must hold its line), and it keeps the load at seconds;
the per-redemption ``transfer_id`` values are synthetic, so the load runs
with foreign-key checks off (PostgreSQL ``session_replication_role =
replica``, SQLite ``PRAGMA foreign_keys = OFF``). Both tables are analyzed
afterwards, as autovacuum would have done for a month of real traffic.

Then, timed, each step in its own transaction exactly as the command line
runs it:
* ``create``: claim every redemption before 1 March (one INSERT … SELECT
  into ``settlement_item``), add up one line per merchant;
* ``approve``: IBAN checks and creditor snapshot for 1,000 merchants, 1,000
  ``settle`` transfers (payable → clearing);
* ``export``: pain.001.001.09 for 1,000 payees built with sepaxml and
  XSD-validated, the lines CSV, both written atomically, batch marked
  exported;
and, after the timed part, ``ledger verify`` with the settlement checks.
Target: create + approve + export < 10 s, peak RSS < 300 MB.

Usage: .venv/bin/python -m scripts.bench_settlement [--redemptions 1000000] [--merchants 1000]
       [--only sqlite|postgresql] [--statements]
"""
from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from schwifty import IBAN
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pasdienst import ledger, migrate
from pasdienst.access.accounts import actor_for_email, create_user
from pasdienst.access.passwords import hash_password
from pasdienst.access.policy import CLI_ACTOR
from pasdienst.config import Settings
from pasdienst.csvsafe import write_atomically
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.plugins import load_verify_checks
from pasdienst.merchants.records import add_merchant
from pasdienst.merchants.models import Merchant
from pasdienst.redeem.models import Redemption
from pasdienst.settlement import batches
from pasdienst.settlement.export import build_export, record_export
from pasdienst.settlement.payment_file import PaymentFile
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.services import import_children, issue_passes, load_scheme

PG_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "pasdienst_bench_settlement"
TODAY = date(2027, 3, 1)
FEBRUARY = datetime(2027, 1, 31, 23, 0, tzinfo=timezone.utc)  # 1 February, 00:00 in Amsterdam
FEBRUARY_SECONDS = 28 * 86400
BANKS = ("RABO", "INGB", "ABNA", "SNSB", "TRIO", "ASNB")
SCHEME = """\
municipality = "bench"
year = 2027
valid_from = "2027-01-01"
valid_until = "2027-12-31"
income_limit_pct = 120

[[budget]]
category = "other"
amount = "150.00"
ages = [0, 17]
"""
CHILDREN = b"child_ref;first_name;birth_date;income_pct\nB-1;Noor;2015-05-01;100\n"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"  {label:<58} {seconds:7.2f} s   (peak RSS {peak_rss_mb():5.0f} MB)", flush=True)
    return result, seconds


def setup(db: Database, merchants: int) -> tuple[int, int, int, list[int]]:
    """Municipality, merchants, one pass, two finance users; returns ids for the load."""
    settings = Settings(secret_keys=("bench-secret-key-0123456789",))
    password_hash = hash_password("bench password 0123")
    with db.transaction() as s:
        municipality = add_municipality(s, "bench", name="Gemeente Bench", iban="NL91ABNA0417164300")
        topup_budget(s, "bench", "1000.00", reference="bench")
        load_scheme(s, SCHEME)
        import_children(s, "bench", CHILDREN, settings=settings, today=TODAY)
        issue_passes(s, "bench", 2027, settings=settings, today=TODAY)
        for n in (1, 2):
            create_user(
                s, f"financien{n}@bench.example", role="finance", municipality_code="bench",
                password="bench password 0123", password_hash=password_hash,
            )
        merchant_ids = [
            add_merchant(
                s, "bench", name=f"Aanbieder {i:04d}", categories="other",
                iban=IBAN.generate("NL", bank_code=BANKS[i % len(BANKS)], account_code=f"{100000 + i:010d}").compact,
            ).id
            for i in range(merchants)
        ]
        voucher = s.execute(select(Voucher.id, Voucher.pass_id)).one()
        return municipality.id, voucher.id, voucher.pass_id, merchant_ids


def load(db: Database, n: int, municipality_id: int, voucher_id: int, pass_id: int, merchant_ids: list[int]) -> None:
    """N redemptions over February, round-robin over the merchants, in one statement."""
    first, count = merchant_ids[0], len(merchant_ids)
    assert merchant_ids == list(range(first, first + count)), "merchant ids must be consecutive"
    step = FEBRUARY_SECONDS / n
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(
                text(
                    "INSERT INTO redemption (municipality_id, merchant_id, pass_id, voucher_id, amount_cents, "
                    "balance_after_cents, receipt_no, transfer_id, idempotency_key, request_hash, created_at) "
                    "SELECT :m, :first + g % :count, :p, :v, 100 + (g::bigint * 7919) % 4900, 0, "
                    "'B' || lpad(to_hex(g), 7, '0'), md5(g::text)::uuid, 'bench-' || g, 'h', "
                    ":feb + make_interval(secs => (g - 1) * :step) FROM generate_series(1, :n) AS g"
                ),
                {"m": municipality_id, "first": first, "count": count, "p": pass_id, "v": voucher_id, "feb": FEBRUARY, "step": step, "n": n},
            )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE redemption"))
    else:
        path = make_url(db.url).database
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) "
            "INSERT INTO redemption (municipality_id, merchant_id, pass_id, voucher_id, amount_cents, "
            "balance_after_cents, receipt_no, transfer_id, idempotency_key, request_hash, created_at) "
            "SELECT ?, ? + n % ?, ?, ?, 100 + (n * 7919) % 4900, 0, printf('B%07x', n), lower(hex(randomblob(16))), "
            "'bench-' || n, 'h', strftime('%Y-%m-%d %H:%M:%f', ?, '+' || ((n - 1) * ?) || ' seconds') FROM g",
            (n, municipality_id, first, count, pass_id, voucher_id, FEBRUARY.replace(tzinfo=None).isoformat(" "), step),
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.close()
    # The ledger side: each payable holds the sum of its merchant's redemptions.
    with db.transaction() as s:
        sums = s.execute(select(Redemption.merchant_id, func.sum(Redemption.amount_cents)).group_by(Redemption.merchant_id)).all()
        accounts = dict(s.execute(select(Merchant.id, Merchant.account_id)).all())
        source = ledger.open_account(s, key="bench:redemptions", kind="source", ledger="bench", non_negative=False)
        ledger.post_many(
            s, [ledger.NewTransfer.move("redeem", source, accounts[m], int(total), reference="bench load") for m, total in sums]
        )


def run(name: str, db: Database, args: argparse.Namespace, out: Path) -> dict[str, float]:
    print(f"{name}: {args.redemptions:,} redemptions, {args.merchants:,} merchants")
    migrate.upgrade(db)
    (municipality_id, voucher_id, pass_id, merchant_ids), _ = timed("set-up: municipality, merchants, pass, users", lambda: setup(db, args.merchants))
    timed(f"load {args.redemptions:,} redemptions (set-based) + payables", lambda: load(db, args.redemptions, municipality_id, voucher_id, pass_id, merchant_ids))

    def create() -> int:
        with db.transaction() as s:
            actor = actor_for_email(s, "financien1@bench.example", roles=("finance",))
            batch = batches.create_batch(s, actor, "bench", until=TODAY, today=TODAY)
            assert batch.count == args.redemptions, batch.count
            return batch.id

    def approve(batch_id: int) -> None:
        with db.transaction() as s:
            actor = actor_for_email(s, "financien2@bench.example", roles=("finance",))
            assert batches.approve_batch(s, actor, batch_id).changed

    def export(batch_id: int) -> PaymentFile:
        with db.read() as s:
            files = build_export(s, CLI_ACTOR, batch_id, today=TODAY)
        write_atomically(out / f"{name}.xml", files.sepa)
        write_atomically(out / f"{name}.csv", files.csv)
        with db.transaction() as s:
            record_export(s, CLI_ACTOR, files)
        return files

    figures: dict[str, float] = {}
    batch_id, figures["create"] = timed(f"create: claim {args.redemptions:,}, {args.merchants:,} lines", create)
    _, figures["approve"] = timed(f"approve: {args.merchants:,} settle transfers", lambda: approve(batch_id))
    files, figures["export"] = timed(f"export: pain.001 for {args.merchants:,} payees + CSV", lambda: export(batch_id))
    assert files.nb_of_txs == args.merchants
    figures["total"] = figures["create"] + figures["approve"] + figures["export"]
    print(f"  {'create + approve + export':<58} {figures['total']:7.2f} s")
    figures["rss"] = peak_rss_mb()
    load_verify_checks()

    def check() -> None:
        with db.read() as s:
            report = verify(s)
        assert report.ok, [str(p) for p in report.problems]

    _, figures["verify"] = timed("ledger verify (with the settlement checks)", check)
    if args.statements:
        def statements() -> int:
            with db.read() as s:
                return len(export.write_statements(s, CLI_ACTOR, batch_id, out / f"{name}-statements"))

        _, figures["statements"] = timed(f"statements: {args.merchants:,} HTML files, {args.redemptions:,} rows", statements)
    figures["file_kib"] = len(files.sepa) / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redemptions", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=1_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--statements", action="store_true", help="also time the per-merchant statements (not part of the target)")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.only in (None, "sqlite"):
            db = Database(f"sqlite:///{tmp}/bench.db")
            results["SQLite"] = run("SQLite", db, args, out)
            db.dispose()
        if args.only in (None, "postgresql"):
            admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            url = make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={SCHEMA}"})
            try:
                db = Database(url.render_as_string(hide_password=False))
                results["PostgreSQL"] = run("PostgreSQL", db, args, out)
                db.dispose()
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                admin.dispose()
    print()
    print(f"| database | create | approve | export | **total** | verify | peak RSS | {'statements |' if args.statements else ''}")
    print(f"|---|---:|---:|---:|---:|---:|---:|{'---:|' if args.statements else ''}")
    for name, f in results.items():
        extra = f" {f['statements']:.1f} s |" if args.statements else ""
        print(
            f"| {name} | {f['create']:.2f} s | {f['approve']:.2f} s | {f['export']:.2f} s | **{f['total']:.2f} s** | "
            f"{f['verify']:.2f} s | {f['rss']:.0f} MB |{extra}"
        )


if __name__ == "__main__":
    main()

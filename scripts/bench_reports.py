#!/usr/bin/env python
"""Usage report figures (issue 6) on SQLite and PostgreSQL.

For each database, from an empty migrated schema (a throwaway file or
schema): 30,000 children imported and issued their passes through the
services (a sports budget, a school budget, a swimming punch card and a
clothing cheque from age 4; the cheque only under 4), 300 merchants, then
300,000 redemptions written with set-based SQL (``tests/reports/synthetic.py``).
Then the timings, after one warm-up run each (median and best of ``--runs``):

* ``usage_report()``, the service the API and the page call;
* ``GET /api/v1/municipalities/bench/usage?year=2027`` (JSON);
* ``GET /admin/gebruik?year=2027``, the page with its five SVG charts;
* the CPU time of ``usage_report()``: this process, plus the PostgreSQL
  backend's when the server runs on this machine. On a shared machine the
  wall-clock figures include waiting for a core; the load average is printed.

Target: every one under 1 s on both databases. Each database runs in a
process of its own.

Usage: .venv/bin/python -m scripts.bench_reports [--children 30000] [--redemptions 300000]
       [--only sqlite|postgresql] [--runs 5] [--sqlite-file PATH] [--keep-schema] [--explain]

``--sqlite-file`` keeps the generated SQLite database there, and
``--keep-schema`` the PostgreSQL schema; the next run reuses them and only
times again.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pasdienst import migrate
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.merchants.records import add_merchant
from pasdienst.redeem.models import Redemption
from pasdienst.reports.usage import usage_report
from pasdienst.wallet.models import CATEGORIES
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import import_children, issue_passes, load_scheme
from tests.factories import TEST_IBANS, login_as, make_user
from tests.reports.synthetic import Spread, add_redemptions

PG_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "pasdienst_bench_reports"
CODE = "bench"
YEAR = 2027
TODAY = date(2027, 1, 10)
MERCHANTS = 300

SCHEME = sample_scheme(CODE, YEAR)


def children_csv(n: int) -> bytes:
    """Children of 0 to 17 on 1 January 2027; a tenth on the sliding scale (half the amounts)."""
    rng = random.Random(6)
    lines = ["child_ref;first_name;birth_date;income_pct"]
    for i in range(n):
        born = date.fromordinal(date(2009, 1, 2).toordinal() + rng.randrange(18 * 365))
        income = 125 if i % 10 == 0 else 90 + rng.randrange(31)
        lines.append(f"B-{i:07d};Kind;{born.isoformat()};{income}")
    return ("\n".join(lines) + "\n").encode()


def timed(label: str, work: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - start
    print(f"  {label:<52} {elapsed:7.2f} s", flush=True)
    return result, elapsed


def build(db: Database, settings: Settings, children: int, redemptions: int) -> None:
    with db.transaction() as s:
        add_municipality(s, CODE, name="Gemeente Bench", iban=TEST_IBANS[0])
        topup_budget(s, CODE, 10**12, reference="bench")
        load_scheme(s, SCHEME)
        for i in range(MERCHANTS):
            category = CATEGORIES[i % 4] if i % 4 != 2 else "clothing"  # sport, school, clothing; no transport
            add_merchant(s, CODE, name=f"Aanbieder {i:03d}", categories=[category], iban=TEST_IBANS[i % len(TEST_IBANS)])
    data = children_csv(children)

    def do_import():
        with db.transaction() as s:
            return import_children(s, CODE, data, settings=settings, today=TODAY, file_name="bench-children.csv")

    def do_issue():
        with db.transaction() as s:
            return issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)

    timed(f"import {children:,} children", do_import)
    issued, _ = timed("issue their passes", do_issue)
    print(f"    {issued.summary()}")
    def do_redemptions() -> int:
        with db.transaction() as s:
            mid = s.execute(select(Municipality.id).where(Municipality.code == CODE)).scalar_one()
            return add_redemptions(s, CODE, mid, YEAR, limit=redemptions, spread=Spread(used_vouchers_pct=85))

    made, _ = timed(f"write {redemptions:,} redemptions (set-based SQL)", do_redemptions)
    print(f"    {made:,} redemptions written")
    if db.dialect == "postgresql":
        # What autovacuum does soon after a bulk load (statistics, visibility
        # map); SQLite is measured as it is.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a local process (the PostgreSQL backend), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def print_table(results: dict[str, dict[str, tuple[float, float]]], *, best: bool) -> None:
    """A markdown table for docs/benchmarks.md: one row per database, median (and best) seconds."""
    labels = list(next(iter(results.values())))
    print("| database | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for name, figures in results.items():
        cells = (f"{figures[k][0]:.3f} s" + (f" (best {figures[k][1]:.3f})" if best else "") for k in labels)
        print(f"| {name} | " + " | ".join(cells) + " |")


def measure(db: Database, settings: Settings, runs: int, explain: bool) -> dict[str, tuple[float, float]]:
    import logging

    from pasdienst.web.app import create_app

    logging.getLogger("pasdienst.request").setLevel(logging.WARNING)  # one line per request otherwise
    # What building the data left behind (and the other database's run) is
    # garbage: collect it now rather than during the timings.
    gc.collect()

    with db.read() as s:
        count = s.execute(select(func.count()).select_from(Redemption)).scalar_one()
    print(f"  {count:,} redemptions in the database; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    def report() -> object:
        with db.read() as s:
            return usage_report(s, CODE, YEAR)

    def report_cpu() -> float | None:
        with db.read() as s:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar() if db.dialect == "postgresql" else None
            before = _proc_cpu(pid) if pid else 0.0
            start = time.process_time()
            usage_report(s, CODE, YEAR)
            own = time.process_time() - start
            after = _proc_cpu(pid) if pid else 0.0
        if before is None or after is None:
            return None
        return own + after - before

    app = create_app(settings, db=db)
    client = app.test_client()
    login_as(client, make_user(db, "admin", municipality=CODE, email=f"beheer-{time.time_ns()}@bench.example"))

    def api() -> object:
        response = client.get(f"/api/v1/municipalities/{CODE}/usage?year={YEAR}")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response

    def page() -> object:
        response = client.get(f"/admin/gebruik?year={YEAR}")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response

    if explain:
        db.engine.echo = True
        report()
        db.engine.echo = False
    figures: dict[str, tuple[float, float]] = {}
    for label, work in (("usage_report()", report), ("GET …/usage (JSON)", api), ("GET /admin/gebruik (page)", page)):
        work()  # warm-up: first connection, template compile
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        figures[label] = (statistics.median(times), min(times))
        print(f"  {label:<52} median {figures[label][0]:.3f} s, best {figures[label][1]:.3f} s", flush=True)
    cpu = [report_cpu() for _ in range(runs)]
    if all(c is not None for c in cpu):
        # Wall-clock time on a shared machine includes waiting for a core;
        # CPU time (this process, plus the PostgreSQL backend when it runs
        # on this machine) is what the report itself costs.
        figures["usage_report() CPU"] = (statistics.median(cpu), min(cpu))
        print(f"  {'usage_report() CPU time':<52} median {statistics.median(cpu):.3f} s, best {min(cpu):.3f} s")
    r = report()
    print(
        f"    eligible {r.eligible_children:,}, with a redemption {r.children_with_redemption:,} "
        f"({r.usage_share}), spent {r.money.spent_cents / 100:,.2f}"
    )
    size = len(page().get_data())
    print(f"    page {size / 1024:.1f} KiB")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=30_000)
    parser.add_argument("--redemptions", type=int, default=300_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-file", type=Path)
    parser.add_argument("--keep-schema", action="store_true", help=f"keep (and reuse) the PostgreSQL schema {SCHEMA}")
    parser.add_argument("--explain", action="store_true", help="echo the report's SQL once")
    args = parser.parse_args()
    if args.only is None:
        # One process per database, so that one run's garbage and pools do
        # not weigh on the other's timings.
        rest = sys.argv[1:]
        for name in ("sqlite", "postgresql"):
            subprocess.run([sys.executable, "-m", "scripts.bench_reports", "--only", name, *rest], check=True)
        return
    settings = Settings(secret_keys=("bench-secret-key-0123456789",), base_url="https://kindpakket.bench.nl")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_file or Path(tmp) / "bench.db"
            fresh = not path.exists()
            db = Database(f"sqlite:///{path}")
            migrate.upgrade(db)
            print("SQLite (file, WAL):")
            if fresh:
                build(db, settings, args.children, args.redemptions)
            results["SQLite"] = measure(db, settings, args.runs, args.explain)
            db.dispose()
    if args.only in (None, "postgresql"):
        admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
        with admin.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": SCHEMA}).first()
            fresh = not (args.keep_schema and exists)
            if fresh:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        url = make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        try:
            db = Database(url.render_as_string(hide_password=False))
            migrate.upgrade(db)
            print("PostgreSQL:")
            if fresh:
                build(db, settings, args.children, args.redemptions)
            results["PostgreSQL"] = measure(db, settings, args.runs, args.explain)
            db.dispose()
        finally:
            if not args.keep_schema:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin.dispose()

    print()
    print_table(results, best=True)


if __name__ == "__main__":
    main()

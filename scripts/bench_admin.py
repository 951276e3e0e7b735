#!/usr/bin/env python
"""The back office's pages (issue 6) on a G4-sized municipality, SQLite and PostgreSQL.

The world is the usage report's (``scripts/bench_reports.py``: 30,000 children
with passes, 300 merchants, 300,000 redemptions). Then, logged in as an admin,
after one warm-up each, median and best of ``--runs`` page loads:

* ``/admin`` (the dashboard: counts, usage share, budget, recent audit events);
* ``/admin/kinderen?q=B-00012`` (a reference prefix) and ``?q=kind`` (a first
  name every child has: the first page of 50 and the count);
* the child list without a search: its first and last page by name, the
  children without a pass, active passes by age (descending) on page 300,
  an award basis with an age range, and the children of the import file;
* ``/admin/kinderen/<id>`` of a child with payments;
* ``/admin/budget`` and ``/admin/auditlog``.

Target: every page under 0.5 s on both databases.

Usage: .venv/bin/python -m scripts.bench_admin [--children 30000] [--redemptions 300000]
       [--only sqlite|postgresql] [--runs 5] [--sqlite-file PATH]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from pasdienst import migrate
from pasdienst.config import DEFAULT_TEST_POSTGRES_URL, Settings
from pasdienst.db import Database
from pasdienst.redeem.models import Redemption
from pasdienst.wallet.models import ChildImport, ChildPass
from pasdienst.web.app import create_app
from scripts import bench_reports
from tests.factories import login_as, make_user


SCHEMA = "pasdienst_bench_admin"


def measure(db: Database, settings: Settings, runs: int) -> dict[str, tuple[float, float]]:
    app = create_app(replace(settings, today=bench_reports.TODAY), db=db)
    logging.getLogger("pasdienst.request").setLevel(logging.WARNING)  # one JSON line per request: not here
    client = app.test_client()
    # A fresh admin each run: --sqlite-file measures the same world again.
    login_as(client, make_user(db, "admin", municipality=bench_reports.CODE, email=f"admin-{time.time_ns()}@bench.example"))
    with db.read() as s:
        child_id = s.execute(
            select(ChildPass.child_id).join(Redemption, Redemption.pass_id == ChildPass.id).limit(1)
        ).scalar_one()
        import_id = s.execute(select(ChildImport.id).limit(1)).scalar_one()
    pages = {
        "dashboard": "/admin",
        "search ref": "/admin/kinderen?q=B-00012",
        "search name": "/admin/kinderen?q=kind",
        "list": "/admin/kinderen",
        "list last page": "/admin/kinderen?pagina=600",
        "list no pass": "/admin/kinderen?pas=zonder",
        "list active by age": "/admin/kinderen?pas=actief&sorteer=leeftijd&volgorde=af&pagina=300",
        "list basis+age": "/admin/kinderen?inkomen=glijdend&leeftijd_van=10&leeftijd_tot=14",
        "list import": f"/admin/kinderen?import={import_id}&sorteer=aangemeld&pagina=100",
        "child": f"/admin/kinderen/{child_id}",
        "budget": "/admin/budget",
        "auditlog": "/admin/auditlog",
    }
    results = {}
    for label, path in pages.items():
        assert client.get(path).status_code == 200, path  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, path
        results[label] = (statistics.median(times), min(times))
        print(f"  {label:<20} {path:<72} median {results[label][0]:.3f} s, best {results[label][1]:.3f} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=30_000)
    parser.add_argument("--redemptions", type=int, default=300_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-file", type=Path)
    args = parser.parse_args()
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
                bench_reports.build(db, settings, args.children, args.redemptions)
            results["SQLite"] = measure(db, settings, args.runs)
            db.dispose()
    if args.only in (None, "postgresql"):
        base = make_url(bench_reports.PG_URL if hasattr(bench_reports, "PG_URL") else DEFAULT_TEST_POSTGRES_URL)
        admin = create_engine(base.set(drivername="postgresql+psycopg"))
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        url = base.set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        try:
            db = Database(url.render_as_string(hide_password=False))
            migrate.upgrade(db)
            print("PostgreSQL:")
            bench_reports.build(db, settings, args.children, args.redemptions)
            results["PostgreSQL"] = measure(db, settings, args.runs)
            db.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin.dispose()
    print()
    bench_reports.print_table(results, best=False)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Letters figure (issue 13, Brieven): N letters in one PDF (target: 10,000 in < 60 s).

From an empty migrated schema: N children imported and issued a pass each
with the sample scheme's four vouchers (two budgets, a punch card, a
cheque), their QR images rendered and stored as the issuing job does (not
timed: that is the issuing job's figure, see ``bench_wallet.py``); then the
``letters`` job runs as a worker runs it (``run_job``: read the passes and
balances, draw every page, store the PDF in the job row). Prints wall
seconds, letters per second, the PDF's size, the CPU seconds of this process
(the database server's are not in it) and the load average, since the
machine is shared.

Usage: .venv/bin/python -m scripts.bench_letters [--letters 10000] [--postgresql] [--check]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
from pathlib import Path

from pasdienst import migrate
from pasdienst.access.accounts import create_user
from pasdienst.access.logins import load_actor
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.jobs.models import Job
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import run_job, start_job
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.wallet import qr
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import import_children, issue_passes, load_scheme
from tests.benchkit import MUNICIPALITY, SECRET, TODAY, children_csv, postgres_schema


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def prepare(db: Database, settings: Settings, n: int) -> int:
    """N issued passes with stored QR images; the id of an admin to start the job as."""
    migrate.upgrade(db)
    with db.transaction() as s:
        add_municipality(s, MUNICIPALITY, name="Gemeente Benchdorp", iban="NL91ABNA0417164300")
        topup_budget(s, MUNICIPALITY, n * 100_000, reference="bench")
        load_scheme(s, sample_scheme(MUNICIPALITY, 2027))
        import_children(s, MUNICIPALITY, children_csv(n), settings=settings, today=TODAY)
        issued = issue_passes(s, MUNICIPALITY, 2027, settings=settings, today=TODAY)
        admin, _ = create_user(s, "beheer@bench.example", role="admin", municipality_code=MUNICIPALITY,
                            password="bench password 1234", must_change_password=False)
    assert issued.issued == n, f"{issued.issued} passes issued, {n} wanted"
    qr.render_missing(db, settings)
    return admin.id


def run(name: str, url: str, n: int, check: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=url, secret_keys=(SECRET,), today=TODAY, instance_path=Path(tmp),
            base_url="https://kindpakket.opsterland.nl", queue_url=f"sqlite:///{tmp}/queue.db",
        )
        db = Database(url)
        start = time.perf_counter()
        admin_id = prepare(db, settings, n)
        print(f"{name}: {n:,} passes issued and their QR images stored in {time.perf_counter() - start:.1f} s "
              "(not part of the figure)", flush=True)
        with db.transaction() as s:
            municipality = s.query(Municipality).filter_by(code=MUNICIPALITY).one()
            job_id = start_job(s, load_actor(s, admin_id), municipality, "letters", {"year": 2027, "after_pass_id": None}).id
        load_before = os.getloadavg()[0]
        start, cpu = time.perf_counter(), _cpu()
        state = run_job(db, settings, JobQueue(settings), job_id, today=TODAY)
        elapsed, used = time.perf_counter() - start, _cpu() - cpu
        with db.read() as s:
            job = s.get(Job, job_id)
            assert job is not None
            letters, size, data = job.summary["letters"], len(job.file_data or b""), job.file_data
        assert state == "done" and letters == n, (state, letters, job.error_code)
        print(f"  letters job: {letters:,} letters in {elapsed:.1f} s wall ({letters / elapsed:,.0f} letters/s), "
              f"{used:.1f} s CPU, PDF {size / 1e6:.1f} MB ({size / letters / 1024:.1f} KiB a letter), "
              f"load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)
        if check:
            from pypdf import PdfReader

            pages = len(PdfReader(io.BytesIO(data or b"")).pages)
            assert pages == n, f"{pages} pages"
            print(f"  pypdf reads {pages:,} pages")
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--postgresql", action="store_true", help="also on PostgreSQL (PASDIENST_TEST_POSTGRES_URL)")
    parser.add_argument("--check", action="store_true", help="read the PDF back with pypdf and count its pages")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.db", args.letters, args.check)
    if args.postgresql:
        with postgres_schema("pasdienst_bench_letters") as url:
            run("PostgreSQL", url, args.letters, args.check)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Reminders figure (issue 15): a run that e-mails the households of N children (N = 100,000).

From an empty migrated schema: N children imported with a household and a
parent's address (households of one, two and three children in turn; every
tenth household has no address) and issued a pass each (one sport budget);
nobody has spent anything, so every household is on the list: the largest
run a municipality of that size can make. None of that is timed.

Then a reminder moment is started as an administrator starts one and its
``reminders`` job runs as a worker runs it (``run_job``), **in a process of
its own**, so that its peak memory is the run's own (``VmHWM``, with the
resident size before the run for comparison). The e-mails go over SMTP to a
local sink (aiosmtpd, also a process of its own, which counts what it is
handed and keeps nothing). Prints wall and CPU seconds of the run, e-mails
per second, peak memory, and checks the log: one ``sent`` row per address,
one ``reminder_child`` row per child named, as many messages in the sink.

Usage: .venv/bin/python -m scripts.bench_reminders [--children 100000] [--postgresql] [--only-postgresql] [--profile]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchkit import MUNICIPALITY, SECRET, TODAY, free_port, postgres_schema, scheme

from pasdienst.config import Settings

#: Children per household, in turn: 1.8 on average.
HOUSEHOLD_SIZES = (1, 2, 3, 1, 2)


def children_csv(n: int) -> tuple[bytes, int, int]:
    """The import file, the number of addresses and of children with one."""
    lines = ["child_ref;first_name;birth_date;household_ref;income_pct;email;postcode"]
    child = household = addresses = named = 0
    while child < n:
        size = min(HOUSEHOLD_SIZES[household % len(HOUSEHOLD_SIZES)], n - child)
        email = "" if household % 10 == 9 else f"ouder{household}@bench.example"
        if email:
            addresses, named = addresses + 1, named + size
        for _ in range(size):
            lines.append(
                f"R-{child:06d};Kind{child};{2010 + child % 12}-0{1 + child % 9}-1{child % 9};HH{household:06d};100;"
                f"{email};{9200 + household % 50} AB"
            )
            child += 1
        household += 1
    return ("\n".join(lines) + "\n").encode(), addresses, named


def settings_for(url: str, instance: Path, smtp_url: str) -> Settings:
    return Settings(
        database_url=url, secret_keys=(SECRET,), today=TODAY, instance_path=instance,
        base_url="https://kindpakket.benchdorp.nl", queue_url=f"sqlite:///{instance}/queue.db",
        smtp_url=smtp_url, mail_from="kinderpas@benchdorp.nl",
    )


def prepare(url: str, settings: Settings, n: int) -> tuple[int, int, int]:
    """N children with a pass; a reminder moment started. Returns (job id, addresses, children named)."""
    from pasdienst import migrate
    from pasdienst.access.accounts import actor_for_email, create_user
    from pasdienst.db import Database
    from pasdienst.municipalities.services import add_municipality, topup_budget
    from pasdienst.reminders.runs import start_now
    from pasdienst.wallet.services import import_children, issue_passes, load_scheme

    data, addresses, named = children_csv(n)
    db = Database(url)
    migrate.upgrade(db)
    with db.transaction() as s:
        add_municipality(s, MUNICIPALITY, name="Gemeente Benchdorp", iban="NL91ABNA0417164300")
        topup_budget(s, MUNICIPALITY, n * 10_000, reference="bench")
        load_scheme(s, scheme(10_000))
        import_children(s, MUNICIPALITY, data, settings=settings, today=TODAY)
        issued = issue_passes(s, MUNICIPALITY, 2027, settings=settings, today=TODAY)
        create_user(s, "beheer@bench.example", role="admin", municipality_code=MUNICIPALITY,
                    password="bench password 1234", must_change_password=False)
    assert issued.issued == n, f"{issued.issued} passes issued, {n} wanted"
    with db.transaction() as s:
        job_id = start_now(s, actor_for_email(s, "beheer@bench.example"), year=2027, title="Benchmark",
                           under_cents=None, today=TODAY).id
    db.dispose()
    return job_id, addresses, named


def _status_mib(name: str) -> float:
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_in_this_process(url: str, instance: Path, smtp_url: str, job_id: int, *, profile: bool = False) -> None:
    """``--run``: the job as a worker runs it; one line of JSON with what it cost."""
    from pasdienst.db import Database
    from pasdienst.jobs.queue import JobQueue
    from pasdienst.jobs.services import run_job

    settings = settings_for(url, instance, smtp_url)
    db = Database(url)
    queue = JobQueue(settings)
    before = _status_mib("VmRSS")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    state = run_job(db, settings, queue, job_id, today=TODAY)
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    print(json.dumps({"state": state, "wall": elapsed, "cpu": cpu, "rss_before": before, "peak": _status_mib("VmHWM")}))
    db.dispose()


class CountingSink:
    """aiosmtpd handler: counts messages and bytes, keeps nothing."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook
        self.messages += 1
        self.bytes += len(envelope.content)
        return "250 Message accepted for delivery"


def sink_in_this_process(port: int) -> None:
    """``--sink``: an SMTP server on ``port`` until SIGTERM; then one line of JSON with what it received."""
    from aiosmtpd.controller import Controller

    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()
    print(json.dumps({"messages": handler.messages, "bytes": handler.bytes}), flush=True)


def measure(name: str, url: str, n: int, *, profile: bool = False) -> None:
    from sqlalchemy import func, select

    from pasdienst.db import Database
    from pasdienst.jobs.models import Job
    from pasdienst.reminders.models import SENT, ReminderChild, ReminderSend

    with tempfile.TemporaryDirectory() as tmp:
        instance, port = Path(tmp), free_port()
        smtp_url = f"smtp://127.0.0.1:{port}?timeout=30"
        settings = settings_for(url, instance, smtp_url)
        start = time.perf_counter()
        job_id, addresses, named = prepare(url, settings, n)
        print(f"{name}: {n:,} children with a pass, {addresses:,} addresses, made in {time.perf_counter() - start:.1f} s "
              "(not part of the figure)", flush=True)
        sink = subprocess.Popen([sys.executable, "-m", "scripts.bench_reminders", "--sink", str(port)], stdout=subprocess.PIPE, text=True)
        try:
            assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
            load_before = os.getloadavg()[0]
            run = subprocess.run(
                [sys.executable, "-m", "scripts.bench_reminders", "--run", url, str(instance), smtp_url, str(job_id),
                 *(["--profile"] if profile else [])],
                stdout=subprocess.PIPE, text=True, check=True,
            )
            figures = json.loads(run.stdout.strip().splitlines()[-1])
        finally:
            sink.send_signal(signal.SIGTERM)
            received = json.loads(sink.communicate(timeout=60)[0].strip().splitlines()[-1])
        db = Database(url)
        with db.read() as s:
            job = s.get(Job, job_id)
            assert job is not None
            sent = s.scalar(select(func.count()).select_from(ReminderSend).where(ReminderSend.outcome == SENT))
            children = s.scalar(select(func.count()).select_from(ReminderChild))
            summary = dict(job.summary or {})
        db.dispose()
        assert figures["state"] == "done", (figures, job.error_code, job.error_detail)
        assert sent == addresses == received["messages"] == summary["sent"], (sent, addresses, received, summary)
        assert children == named == summary["children"], (children, named, summary)
        wall = figures["wall"]
        print(f"  reminder run: {sent:,} e-mails naming {children:,} children in {wall:.1f} s wall "
              f"({sent / wall:,.0f} e-mails/s), {figures['cpu']:.1f} s CPU; peak memory {figures['peak']:.0f} MiB "
              f"(VmHWM; {figures['rss_before']:.0f} MiB before the run); {received['bytes'] / 1e6:.0f} MB to the sink; "
              f"load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        sink_in_this_process(int(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        url, instance, smtp_url, job_id = sys.argv[2:6]
        run_in_this_process(url, Path(instance), smtp_url, int(job_id), profile="--profile" in sys.argv[6:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--postgresql", action="store_true", help="also on PostgreSQL (PASDIENST_TEST_POSTGRES_URL)")
    parser.add_argument("--only-postgresql", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", action="store_true", help="the run under cProfile (to stderr; slows it)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    if not args.only_postgresql:
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.db", args.children, profile=args.profile)
    if args.postgresql or args.only_postgresql:
        with postgres_schema("pasdienst_bench_reminders") as url:
            measure("PostgreSQL", url, args.children, profile=args.profile)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Redemptions per second under gunicorn, next to the bare SQL of a redemption.

For PostgreSQL (a throwaway schema in ``PASDIENST_TEST_POSTGRES_URL``) and
SQLite (a file, WAL, synchronous=FULL), in one run:

1. prepare a database: migrations, a municipality, N issued passes with a big
   sport budget each, a sports club and its API token; then ``ANALYZE``;
2. serve, each with gunicorn (``pasdienst/gunicorn_conf.py``, sync workers)
   at once: the real app; the *bare* app defined below (not part of the
   product: one Flask endpoint doing only the SQL a redemption needs, lock
   the balance row, guarded UPDATE, INSERT one row, through the bare
   driver); and with ``--before WORKTREE`` the product of an earlier commit
   (a ``git worktree``), all on the same database;
3. drive ``POST /api/v1/redemptions`` with ``wrk``: C connections, each
   request a random pass, a random amount and its own ``Idempotency-Key``
   (the real QR payload, the Bearer token), in interleaved rounds (A, B, C,
   A, B, C ...) so load elsewhere on the machine hits all alike;
4. print per round and as medians: requests per second, p50/p99 latency,
   errors, and the CPU per request of the gunicorn workers and (PostgreSQL)
   of each app's own database backends (``/proc``, backends found by their
   ``application_name``); the ratios; then check the ledger (``verify``)
   and that the money adds up.

Targets (issue 16): on PostgreSQL at least 2x the previous commit and 0.5x
the bare endpoint, p99 under 50 ms at 16 clients; SQLite at least 0.4x bare.

Usage:
    .venv/bin/python -m scripts.bench_redeem --ratelimit-storage redis://127.0.0.1:6379 \
        [--before /work/wt/before-16] [--seconds 10] [--rounds 3] [--clients 16]
        [--workers 5] [--passes 200] [--merchants 1] [--only sqlite|postgresql]

Needs ``wrk`` (Debian's package; installed with apt-get when missing and
running as root). The per-token till limit (300 a minute) is raised for the
run with ``PASDIENST_TILL_RATE_LIMIT``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.benchkit import BUDGET_CENTS, PG_URL, SECRET, TODAY, World, gunicorn, money_check, postgres_schema
from tests.benchkit import prepare as prepare_world


# -- the bare app: not part of the product ------------------------------------------

BARE_DDL = {
    "sqlite": [
        "CREATE TABLE IF NOT EXISTS bench_bare_account (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0))",
        "CREATE TABLE IF NOT EXISTS bench_bare_redemption (id INTEGER PRIMARY KEY, account_id BIGINT NOT NULL "
        "REFERENCES bench_bare_account (id), amount_cents BIGINT NOT NULL CHECK (amount_cents > 0), "
        "idempotency_key VARCHAR(200) NOT NULL UNIQUE, created_at TIMESTAMP NOT NULL)",
    ],
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS bench_bare_account (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0))",
        "CREATE TABLE IF NOT EXISTS bench_bare_redemption (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL "
        "REFERENCES bench_bare_account (id), amount_cents BIGINT NOT NULL CHECK (amount_cents > 0), "
        "idempotency_key VARCHAR(200) NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL)",
    ],
}


def bare_app() -> Any:
    """The baseline: what a redemption costs with nothing but Flask and the driver.

    Configured by ``BENCH_BARE_DIALECT`` (sqlite|postgresql) and
    ``BENCH_BARE_DSN`` (a file path, or a libpq conninfo with the schema in
    ``options``). One connection per worker process, opened after the fork.
    """
    from datetime import datetime, timezone

    from flask import Flask, jsonify, request

    dialect = os.environ["BENCH_BARE_DIALECT"]
    dsn = os.environ["BENCH_BARE_DSN"]
    app = Flask("bench_bare")
    state: dict[str, Any] = {}

    def connection() -> Any:
        if "conn" not in state:
            if dialect == "sqlite":
                import sqlite3

                conn = sqlite3.connect(dsn, isolation_level=None, check_same_thread=False, timeout=30)
                for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
                    conn.execute(f"PRAGMA {pragma}")
            else:
                import psycopg

                conn = psycopg.connect(dsn)
            state["conn"] = conn
        return state["conn"]

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.post("/api/v1/redemptions")
    def redeem() -> Any:
        body = request.get_json()
        key = request.headers["Idempotency-Key"]
        account, amount = int(body["voucher_id"]), int(body["amount_cents"])
        now = datetime.now(timezone.utc)
        conn = connection()
        if dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("SELECT balance FROM bench_bare_account WHERE id = ?", (account,)).fetchone()
                row = conn.execute(
                    "UPDATE bench_bare_account SET balance = balance - ? WHERE id = ? AND balance >= ? RETURNING balance",
                    (amount, account, amount),
                ).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    return {"code": "insufficient_balance"}, 409
                new_id = conn.execute(
                    "INSERT INTO bench_bare_redemption (account_id, amount_cents, idempotency_key, created_at) "
                    "VALUES (?, ?, ?, ?) RETURNING id",
                    (account, amount, key, now.replace(tzinfo=None).isoformat(" ")),
                ).fetchone()[0]
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        else:
            with conn.transaction():
                conn.execute("SELECT balance FROM bench_bare_account WHERE id = %s FOR UPDATE", (account,)).fetchone()
                row = conn.execute(
                    "UPDATE bench_bare_account SET balance = balance - %s WHERE id = %s AND balance >= %s RETURNING balance",
                    (amount, account, amount),
                ).fetchone()
                if row is None:
                    return {"code": "insufficient_balance"}, 409
                new_id = conn.execute(
                    "INSERT INTO bench_bare_redemption (account_id, amount_cents, idempotency_key, created_at) "
                    "VALUES (%s, %s, %s, %s) RETURNING id",
                    (account, amount, key, now),
                ).fetchone()[0]
        return jsonify(id=new_id, amount_cents=amount, balance_after_cents=row[0]), 201

    return app


# -- the load generator ------------------------------------------------------------

LUA = """\
local passes = {%(passes)s}
local tokens = {%(tokens)s}
local prefix = "run"
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = args[1] or prefix
  math.randomseed(tid * 7919 + os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local p = passes[math.random(#passes)]
  local body = string.format('{"code":"%%s","voucher_id":%%d,"amount_cents":%%d}', p[1], p[2], math.random(1, 999))
  wrk.headers["Idempotency-Key"] = string.format("%%s-%%d-%%d", prefix, tid, counter)
  wrk.headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  return wrk.format(nil, "/api/v1/redemptions", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package) ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-q"], check=False, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is missing: apt-get install wrk")
    return found


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int

    @classmethod
    def of(cls, raw: dict[str, int]) -> Load:
        errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
        return cls(
            raw["requests"] / (raw["duration_us"] / 1e6), raw["p50_us"] / 1000, raw["p99_us"] / 1000,
            raw["max_us"] / 1000, raw["requests"], errors,
        )


def drive(wrk: str, script: Path, url: str, *, seconds: int, clients: int, prefix: str) -> Load:
    threads = str(min(clients, 2))
    done = subprocess.run(
        [wrk, "-t", threads, "-c", str(clients), "-d", f"{round(seconds)}s", "--timeout", "10s", "-s", str(script), url,
         "--", prefix],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    out = done.stdout
    line = next(x for x in out.splitlines() if x.startswith("{"))
    return Load.of(json.loads(line))


# -- the world -------------------------------------------------------------------

def prepare(url: str, n: int, dialect: str, instance: Path, merchants: int = 1) -> World:
    """The shared world (``benchkit.prepare``) plus the bare app's tables, one row per voucher."""
    from sqlalchemy import text

    from pasdienst.db import Database

    world = prepare_world(url, n, instance, merchants)
    db = Database(url)
    with db.transaction() as s:
        for ddl in BARE_DDL[dialect]:
            s.execute(text(ddl))
        s.execute(text("INSERT INTO bench_bare_account (id, balance) VALUES (:id, :b)"),
                  [{"id": vid, "b": BUDGET_CENTS} for _, vid in world.passes])
    db.dispose()
    return world


def check(url: str, world: World, n: int) -> str:
    """Verify the ledger and that both apps' money adds up; a one-line summary."""
    from sqlalchemy import text

    from pasdienst.db import Database

    money = money_check(url, world)
    db = Database(url)
    with db.read() as s:
        bare_count, bare_total = s.execute(
            text("SELECT count(*), coalesce(sum(amount_cents), 0) FROM bench_bare_redemption")
        ).one()
        bare_left = s.execute(text("SELECT sum(balance) FROM bench_bare_account")).scalar_one()
    db.dispose()
    problems = list(money.problems)
    if bare_left + bare_total != n * BUDGET_CENTS:
        problems.append(f"bare: balances {bare_left} + redeemed {bare_total} != {n * BUDGET_CENTS}")
    state = "ok" if not problems else "PROBLEMS: " + "; ".join(problems)
    return (f"{money.summary}; {money.redemptions} redemptions (€ {money.redeemed_cents / 100:,.2f}) = merchant payables; "
            f"bare: {bare_count} rows, balances add up -> {state}")


# -- CPU per request --------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def backend_pids(dsn: str, application_name: str) -> list[int]:
    """The PostgreSQL backends of one app (``application_name`` in its connection string)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return sorted(pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)))


@dataclass
class App:
    label: str
    spec: str
    env: dict[str, str]
    cwd: Path | None = None
    application_name: str | None = None


def analyze(url: str) -> None:
    """Statistics for the planner after loading, as autovacuum would take them."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# -- one database -------------------------------------------------------------------

def run(name: str, url: str, dsn: str, dialect: str, args: argparse.Namespace, wrk: str, tmp: Path) -> dict[str, Load]:
    print(f"\n{name}: preparing {args.passes} passes ...", flush=True)
    world = prepare(url, args.passes, dialect, tmp / f"instance-{dialect}", args.merchants)
    analyze(url)
    script = tmp / f"redeem-{dialect}.lua"
    passes = ", ".join(f'{{"{payload}", {vid}}}' for payload, vid in world.passes)
    script.write_text(LUA % {"passes": passes, "tokens": ", ".join(f'"{t}"' for t in world.tokens)})
    log = tmp / f"gunicorn-{dialect}.log"

    def product_env(application_name: str) -> dict[str, str]:
        tagged = url
        if dialect == "postgresql":
            tagged = f"{url}&application_name={application_name}"
        return {
            "PASDIENST_DATABASE_URL": tagged,
            "PASDIENST_SECRET_KEY": SECRET,
            "PASDIENST_TODAY": TODAY.isoformat(),
            "PASDIENST_INSTANCE_PATH": str(tmp / f"instance-{dialect}"),
            "PASDIENST_TILL_RATE_LIMIT": "1000000 per minute",
            "PASDIENST_RATELIMIT_STORAGE_URL": args.ratelimit_storage,
        }

    apps = [App("pasdienst", "pasdienst.web.app:create_app()", product_env("bench_product"),
                application_name="bench_product")]
    # gunicorn starts in the repository's root, where ``scripts`` is a package.
    apps.append(App("bare SQL", "scripts.bench_redeem:bare_app()",
                    {"BENCH_BARE_DIALECT": dialect,
                     "BENCH_BARE_DSN": f"{dsn}&application_name=bench_bare" if dialect == "postgresql" else dsn},
                    application_name="bench_bare"))
    if args.before:
        before = Path(args.before).resolve()
        apps.append(App("before", "pasdienst.web.app:create_app()",
                        {**product_env("bench_before"), "PYTHONPATH": str(before)}, cwd=before,
                        application_name="bench_before"))
    run_id = secrets.token_hex(3)
    rounds: dict[str, list[Load]] = {app.label: [] for app in apps}
    cpu: dict[str, list[tuple[float, float]]] = {app.label: [] for app in apps}  # (worker, backend) s/request
    with contextlib.ExitStack() as stack:
        # Workers are not recycled (gunicorn_conf: every 5,000 requests): CPU
        # is read per process, and a worker replaced during a round takes its
        # CPU, and its database backend's, with it (the bare app, at 1,200
        # requests a second, showed -0.00 ms).
        servers = {app.label: stack.enter_context(gunicorn(
            app.spec, app.env, workers=args.workers, log=log, cwd=app.cwd,
            max_requests=0)) for app in apps}
        for app in apps:  # warm every worker up (connections, prepared statements)
            drive(wrk, script, servers[app.label].url, seconds=args.warmup, clients=args.clients,
                  prefix=f"w-{run_id}-{app.application_name}")
        for r in range(args.rounds):
            for app in apps:
                server = servers[app.label]
                workers = server.worker_pids()
                backends = backend_pids(PLAIN_DSN[0], app.application_name) if dialect == "postgresql" else []
                w0, b0 = cpu_seconds(workers), cpu_seconds(backends)
                load = drive(wrk, script, server.url, seconds=args.seconds, clients=args.clients,
                             prefix=f"r{r}-{run_id}-{app.application_name}")
                w1, b1 = cpu_seconds(workers), cpu_seconds(backends)
                done = max(load.requests, 1)
                rounds[app.label].append(load)
                # The same processes before and after, or the figure would miss some.
                steady = server.worker_pids() == workers and (
                    dialect != "postgresql" or backend_pids(PLAIN_DSN[0], app.application_name) == backends)
                if steady:
                    cpu[app.label].append(((w1 - w0) / done, (b1 - b0) / done))
                print(f"  round {r + 1} {app.label:<10} {load.rps:7.0f} req/s  p50 {load.p50_ms:6.1f} ms  "
                      f"p99 {load.p99_ms:6.1f} ms  max {load.max_ms:7.1f} ms  {load.requests} requests, "
                      f"{load.errors} errors  (load average {os.getloadavg()[0]:.1f})"
                      f"{'' if steady else '; workers or backends changed: no CPU figure'}", flush=True)
    results = {}
    print(f"  medians over {args.rounds} interleaved rounds:", flush=True)
    for app in apps:
        runs = rounds[app.label]
        load = Load(median([x.rps for x in runs]), median([x.p50_ms for x in runs]), median([x.p99_ms for x in runs]),
                    max(x.max_ms for x in runs), sum(x.requests for x in runs), sum(x.errors for x in runs))
        results[app.label] = load
        figures = cpu[app.label]
        if figures:
            worker_ms = median([c[0] for c in figures]) * 1000
            backend_ms = median([c[1] for c in figures]) * 1000
            backend = f", PostgreSQL backend {backend_ms:.2f} ms" if dialect == "postgresql" else ""
            used = f"CPU per request: gunicorn workers {worker_ms:.2f} ms{backend}"
        else:
            used = "CPU per request: none measured (the processes changed in every round)"
        print(f"  {app.label:<10} {load.rps:7.0f} req/s  p50 {load.p50_ms:6.1f} ms  p99 {load.p99_ms:6.1f} ms  "
              f"max {load.max_ms:7.1f} ms  {load.requests} requests, {load.errors} errors;  {used}", flush=True)
    product, bare = results["pasdienst"], results["bare SQL"]
    print(f"  pasdienst / bare SQL: {product.rps / bare.rps:.2f}", flush=True)
    if "before" in results:
        print(f"  pasdienst / before: {product.rps / results['before'].rps:.2f}", flush=True)
    print("  " + check(url, world, args.passes), flush=True)
    return results


PLAIN_DSN: list[str] = [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per round and app")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (A, B, C, A, B, C ...)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--merchants", type=int, default=1,
                        help="spread the clients over this many merchants (tokens); 1: every till at one shop")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--before", metavar="WORKTREE",
                        help="also serve the product from this git worktree (an earlier commit), in the same rounds")
    parser.add_argument("--ratelimit-storage", default="memory://",
                        help="PASDIENST_RATELIMIT_STORAGE_URL of the app, e.g. redis://127.0.0.1:6379 (default memory://)")
    args = parser.parse_args()
    wrk = ensure_wrk()
    print(f"{args.clients} clients, {args.rounds} interleaved rounds of {args.seconds:g} s per app (after "
          f"{args.warmup:g} s warm-up), gunicorn with {args.workers} sync workers, {args.merchants} merchant(s), "
          f"{os.cpu_count()} cores, rate-limit storage {args.ratelimit_storage}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-redeem-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "postgresql"):
            from sqlalchemy.engine import make_url

            with postgres_schema("pasdienst_bench_redeem") as url:
                # The bare app speaks to the driver directly: the same schema as a libpq DSN.
                schema = make_url(url).query["options"].removeprefix("-csearch_path=")
                plain = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
                PLAIN_DSN[0] = plain
                run("PostgreSQL", url, f"{plain}?options=-csearch_path%3D{schema}", "postgresql", args, wrk, tmp)
        if args.only in (None, "sqlite"):
            path = tmp / "sqlite" / "pasdienst.db"
            run("SQLite", f"sqlite:///{path}", str(path), "sqlite", args, wrk, tmp)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Load test: the tills' busiest hour against gunicorn, then the books.

Serves the real app with gunicorn (``pasdienst/gunicorn_conf.py``, sync
workers) on PostgreSQL (a throwaway schema in ``PASDIENST_TEST_POSTGRES_URL``)
or, with ``--sqlite``, on a SQLite file, and drives it with locust
(``FastHttpUser``, used as a library) as ``--users`` cashiers, each at a till
of their own merchant with its own API token. Each cashier picks, per action:

* 70 % ``POST /api/v1/scan`` of a random pass (its QR payload);
* 25 % ``POST /api/v1/redemptions`` of € 0.50 to € 25.00 from a random pass,
  with a new ``Idempotency-Key``;
* 3 % ``POST /api/v1/redemptions/{id}/void`` of one of the cashier's own
  redemptions of this run (a pass page view when it has none left);
* 2 % ``GET /p/<token>``: a parent looking at the pass page.

Think time: ``--think`` 0.5 to 2.5 s (uniform) between a cashier's actions.
A real till acts every 5 to 20 s (show the pass, read the balance, type the
amount, confirm, next customer); 0.5 to 2.5 s is a cashier working flat out
at a queue, so 50 such users are the load of a few hundred ordinary tills in
the worst hour. ``--think 0 0`` turns it into a stress test (then raise the
per-token limit of 300 a minute with ``--till-limit``).

Prints throughput, p50/p95/p99/max per type and overall and the error rate
(measured after a ``--warmup`` of 5 s, whose errors still count);
then runs ``pasdienst ledger verify`` (its own process) and checks that the
money adds up: merchants' payables = redeemed and not voided = what the
vouchers lost, and the database holds exactly the redemptions and voids the
cashiers were told about. An error is any answer other than the expected
2xx, or no answer. Exits 1 when there were errors or a check failed; latency
is reported, not judged (target: p99 under 100 ms).

Usage:
    .venv/bin/python -m scripts.loadtest [--users 50] [--seconds 60] [--warmup 5] [--sqlite]
        [--passes 1000] [--merchants USERS] [--workers N] [--think 0.5 2.5]
        [--till-limit '300 per minute'] [--ratelimit-storage memory://]
"""
from __future__ import annotations

# locust monkey-patches the standard library for gevent on import: first.
import locust  # noqa: F401 - must be first
import gevent
from locust import FastHttpUser, between, task
from locust.env import Environment

import argparse
import itertools
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

from tests.benchkit import World, gunicorn, money_check, postgres_schema, prepare, server_env, verify_cli

BUDGET_CENTS = 100_000  # € 1,000 a pass: even a long run never exhausts one
AMOUNT_CENTS = (50, 2_500)
TYPES = ("scan", "redeem", "void", "pass page")


class Cashier(FastHttpUser):
    """One till of one merchant. Configured by ``configure`` before the run."""

    abstract = True
    wait_time = between(0.5, 2.5)
    connection_timeout = 10.0
    network_timeout = 10.0
    world: World
    told: dict[str, int]  # what the cashiers were answered: redeemed, redeemed_cents, voided, voided_cents
    _numbers = itertools.count()

    def on_start(self) -> None:
        number = next(self._numbers)
        self.rng = random.Random(number)
        self.headers = {"Authorization": f"Bearer {self.world.tokens[number % len(self.world.tokens)]}"}
        self.recent: deque[tuple[int, int]] = deque(maxlen=50)  # (redemption id, cents)

    def _expect(self, response, status: int) -> bool:
        if response.status_code == status:
            response.success()
            return True
        code = ""
        try:
            code = (response.json() or {}).get("code", "")
        except Exception:  # not JSON: the status says enough
            pass
        response.failure(f"HTTP {response.status_code} {code}".strip())
        return False

    @task(70)
    def scan(self) -> None:
        payload, _ = self.rng.choice(self.world.passes)
        with self.client.post("/api/v1/scan", json={"code": payload}, headers=self.headers, name="scan",
                              catch_response=True) as response:
            self._expect(response, 200)

    @task(25)
    def redeem(self) -> None:
        payload, voucher_id = self.rng.choice(self.world.passes)
        amount = self.rng.randint(*AMOUNT_CENTS)
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post("/api/v1/redemptions", json={"code": payload, "voucher_id": voucher_id, "amount_cents": amount},
                              headers=headers, name="redeem", catch_response=True) as response:
            if self._expect(response, 201):
                self.recent.append((response.json()["id"], amount))
                self.told["redeemed"] += 1
                self.told["redeemed_cents"] += amount

    @task(3)
    def void(self) -> None:
        if not self.recent:
            self.pass_page()
            return
        redemption_id, amount = self.recent.pop()
        with self.client.post(f"/api/v1/redemptions/{redemption_id}/void", headers=self.headers, name="void",
                              catch_response=True) as response:
            if self._expect(response, 200):
                self.told["voided"] += 1
                self.told["voided_cents"] += amount

    @task(2)
    def pass_page(self) -> None:
        payload, _ = self.rng.choice(self.world.passes)
        with self.client.get(urlsplit(payload).path, name="pass page", catch_response=True) as response:
            self._expect(response, 200)


def configure(world: World, think: tuple[float, float]) -> type[Cashier]:
    told = {"redeemed": 0, "redeemed_cents": 0, "voided": 0, "voided_cents": 0}
    return type("Till", (Cashier,), {"abstract": False, "world": world, "wait_time": between(*think), "told": told})


def drive(base_url: str, user_class: type[Cashier], users: int, seconds: float, warmup: float) -> tuple[Environment, float, int]:
    """Run the users; the figures cover ``seconds`` after ``warmup`` (each
    worker's first requests open its connections). Returns the environment,
    the measured seconds, and the errors of the warm-up, which still count."""
    # stop_timeout: a stopping user finishes its request first, so that every
    # redemption the server made was also counted as told.
    env = Environment(user_classes=[user_class], host=base_url, catch_exceptions=True, stop_timeout=30)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=max(users, 1))
    warm_errors = 0
    if warmup > 0:
        gevent.sleep(warmup)
        warm_errors = env.stats.total.num_failures
        for error in env.stats.errors.values():
            print(f"  error during the warm-up: {error.method} {error.name}: {error.error} x{error.occurrences}")
        env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(seconds)
    runner.quit()
    return env, time.monotonic() - started, warm_errors


def report(env: Environment, elapsed: float, warm_errors: int) -> int:
    """Print the table; return the number of errors."""
    print(f"\n  {'type':<10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>7}")
    rows = [(name, env.stats.entries.get((name, method)))
            for name, method in zip(TYPES, ("POST", "POST", "POST", "GET"), strict=True)]
    rows.append(("all", env.stats.total))
    for name, entry in rows:
        if entry is None or entry.num_requests == 0:
            print(f"  {name:<10} {0:>8}")
            continue
        pct = [entry.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99)]
        print(f"  {name:<10} {entry.num_requests:>8} {entry.num_requests / elapsed:>7.1f} {pct[0]:>7.0f} {pct[1]:>7.0f} "
              f"{pct[2]:>7.0f} {entry.max_response_time:>7.0f} {entry.num_failures:>7}")
    total = env.stats.total
    exceptions = sum(e["count"] for e in env.runner.exceptions.values()) if env.runner else 0
    errors = total.num_failures + exceptions + warm_errors
    for error in env.stats.errors.values():
        print(f"  error: {error.method} {error.name}: {error.error} x{error.occurrences}")
    for exc in (env.runner.exceptions.values() if env.runner else []):
        print(f"  exception in a user x{exc['count']}: {exc['msg']}\n{exc['traceback']}")
    rate = 100 * errors / total.num_requests if total.num_requests else 0.0
    print(f"  errors: {errors} of {total.num_requests} requests ({rate:.2f} %{'; warm-up included' if warm_errors else ''}); "
          f"throughput {total.num_requests / elapsed:.1f} req/s over {elapsed:.1f} s; "
          f"p99 {total.get_response_time_percentile(0.99):.0f} ms (target < 100 ms)")
    return errors


def books(url: str, world: World, env: dict[str, str], told: dict[str, int]) -> list[str]:
    """Run ``pasdienst ledger verify`` and the money checks; print them; the problems."""
    problems = []
    verified = verify_cli(env)
    line = (verified.stdout.strip().splitlines() or ["(no output)"])[-1]
    if verified.returncode == 0:
        print(f"  ledger verify: ok (exit 0): {line}")
    else:
        print(f"  ledger verify: FAILED (exit {verified.returncode}): {verified.stdout}{verified.stderr}")
        problems.append("ledger verify failed")
    money = money_check(url, world)
    problems += money.problems
    expected = (told["redeemed"] - told["voided"], told["redeemed_cents"] - told["voided_cents"], told["voided"])
    found = (money.redemptions, money.redeemed_cents, money.voided)
    if expected != found:
        problems.append(f"cashiers were told (redemptions, cents, voids) {expected}, the database holds {found}")
    print(f"  money: {money.redemptions} redemptions (€ {money.redeemed_cents / 100:,.2f}) standing, {money.voided} voided; "
          f"merchant payables € {money.payable_cents / 100:,.2f}; vouchers € {money.voucher_cents / 100:,.2f} "
          f"+ redeemed = issued; as the cashiers were told -> {'ok' if not problems else 'PROBLEMS'}")
    for problem in problems:
        print(f"  PROBLEM {problem}")
    return problems


def run(url: str, args: argparse.Namespace, tmp: Path, database: str) -> int:
    merchants = args.merchants or args.users
    instance = tmp / "instance"
    print(f"preparing {args.passes} passes and {merchants} merchants on {database} ...", flush=True)
    world = prepare(url, args.passes, instance, merchants, budget_cents=BUDGET_CENTS, token_name="loadtest")
    extra = {"PASDIENST_RATELIMIT_STORAGE_URL": args.ratelimit_storage}
    if args.till_limit:
        extra["PASDIENST_TILL_RATE_LIMIT"] = args.till_limit
    env = server_env(url, instance, **extra)
    log = tmp / "gunicorn.log"
    user_class = configure(world, tuple(args.think))
    print(f"{args.users} users for {args.seconds:g} s after {args.warmup:g} s warm-up (think {args.think[0]:g}-{args.think[1]:g} s), gunicorn with "
          f"{args.workers} sync workers on {database}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    with gunicorn("pasdienst.web.app:create_app()", env, workers=args.workers, log=log) as server:
        stats, elapsed, warm_errors = drive(server.url, user_class, args.users, args.seconds, args.warmup)
    errors = report(stats, elapsed, warm_errors)
    print(f"  load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine distorts latency)")
    problems = books(url, world, env, user_class.told)
    if errors:
        print(f"  gunicorn's log: {log}" if args.keep else "  (run with --keep to keep gunicorn's log)")
    ok = not errors and not problems
    print("RESULT: " + ("ok" if ok else f"FAILED ({errors} errors, {len(problems)} problems)"), flush=True)
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent cashiers (default 50)")
    parser.add_argument("--seconds", type=float, default=60, help="duration of the load (default 60)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before the figures start (default 5)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--passes", type=int, default=1000, help="issued passes to spread the load over (default 1000)")
    parser.add_argument("--merchants", type=int, default=0, help="merchants, each with its own token (default: one per user)")
    parser.add_argument("--workers", type=int,
                        default=int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)),
                        help="gunicorn workers (default as pasdienst/gunicorn_conf.py: cores * 2 + 1)")
    parser.add_argument("--think", type=float, nargs=2, default=[0.5, 2.5], metavar=("MIN", "MAX"),
                        help="seconds between a cashier's actions, uniform (default 0.5 2.5)")
    parser.add_argument("--till-limit", help="PASDIENST_TILL_RATE_LIMIT for the run (default: the product's, 300 per minute)")
    parser.add_argument("--ratelimit-storage", default="memory://",
                        help="PASDIENST_RATELIMIT_STORAGE_URL, e.g. redis://127.0.0.1:6379 (default memory://)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (gunicorn's log)")
    args = parser.parse_args()
    if args.users < 1 or args.seconds <= 0 or args.passes < 1 or args.warmup < 0 or args.think[0] < 0 or args.think[1] < args.think[0]:
        parser.error("--users, --seconds and --passes must be positive, and 0 <= --think MIN <= MAX")

    tmp = Path(tempfile.mkdtemp(prefix="pasdienst-loadtest-"))
    try:
        if args.sqlite:
            status = run(f"sqlite:///{tmp / 'pasdienst.db'}", args, tmp, "SQLite")
        else:
            with postgres_schema("pasdienst_loadtest") as url:
                status = run(url, args, tmp, "PostgreSQL")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()

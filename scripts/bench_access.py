"""What authentication costs per request, and what a login costs.

    .venv/bin/python -m scripts.bench_access [--requests 500] [--no-postgres]

Through the Flask test client (no network, one process), on a fresh SQLite
file and, unless ``--no-postgres``, a scratch schema in the test PostgreSQL
(``PASDIENST_TEST_POSTGRES_URL``). ``/bench/ping`` is a view behind
``@requires`` that does nothing else, so its time minus ``/healthz`` is the
price of the access check: the session user (or Bearer token) loaded in one
query, the role checked.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pasdienst import migrate
from pasdienst.access.models import ROLES
from pasdienst.access.accounts import create_user
from pasdienst.access.passwords import hash_password
from pasdienst.access.tokens import create_token
from pasdienst.access.web import requires
from pasdienst.config import DEFAULT_TEST_POSTGRES_URL, Settings
from pasdienst.db import Database
from pasdienst.municipalities.services import add_municipality
from pasdienst.merchants.records import add_merchant
from pasdienst.web.app import create_app
from pasdienst.web.extensions import limiter

PASSWORD = "bench password 1234"


def _time(fn: Callable[[], object], n: int) -> tuple[float, float, float]:
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[max(0, int(len(samples) * 0.99) - 1)] * 1000, n / sum(samples)


def run(url: str, label: str, n: int) -> None:
    db = Database(url)
    migrate.upgrade(db)
    app = create_app(
        Settings(database_url=url, secret_keys=("bench-key-" + "x" * 24,), instance_path=Path(tempfile.mkdtemp())), db=db
    )

    # The login limits (10 a minute per address) would stop the login timing.
    limiter.enabled = False

    @app.get("/bench/ping")
    @requires(*ROLES)
    def ping() -> dict[str, str]:
        return {}

    @app.get("/api/v1/bench-ping")
    @requires(*ROLES)
    def api_ping() -> dict[str, str]:
        return {}

    with db.transaction() as s:
        add_municipality(s, "benchdorp", name="Gemeente Benchdorp")
        merchant = add_merchant(s, "benchdorp", name="Bench", categories="school", iban="NL91ABNA0417164300")
        create_user(s, "kassa@bench.example", role="merchant", merchant_id=merchant.id, password=PASSWORD,
                    password_hash=hash_password(PASSWORD), must_change_password=False)
        token = create_token(s, "kassa@bench.example")

    session_client = app.test_client()
    page = session_client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert session_client.post("/login", data={"email": "kassa@bench.example", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    anonymous, bearer = app.test_client(), app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rows = [
        ("GET /healthz (no access check)", lambda: anonymous.get("/healthz")),
        ("GET /bench/ping, session cookie", lambda: session_client.get("/bench/ping")),
        ("GET /api/v1/bench-ping, Bearer token", lambda: bearer.get("/api/v1/bench-ping", headers=headers)),
        ("GET /api/v1/me, session cookie", lambda: session_client.get("/api/v1/me")),
    ]
    for name, fn in rows:
        median, p99, rate = _time(fn, n)
        print(f"| {label} | {name} | {median:.2f} | {p99:.2f} | {rate:,.0f} |")

    def login() -> None:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"email": "kassa@bench.example", "password": PASSWORD, "csrf_token": token}).status_code == 302

    median, p99, rate = _time(login, 5)
    print(f"| {label} | GET+POST /login (argon2id verify) | {median:.0f} | {p99:.0f} | {rate:.1f} |")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print("| database | request | median ms | p99 ms | per second |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.requests)
    if args.no_postgres:
        return
    base = make_url(os.environ.get("PASDIENST_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)).set(drivername="postgresql+psycopg")
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS bench_access CASCADE"))
        conn.execute(text("CREATE SCHEMA bench_access"))
    try:
        url = base.update_query_dict({"options": "-csearch_path=bench_access"}).render_as_string(hide_password=False)
        run(url, "PostgreSQL", args.requests)
    finally:
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_access CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()

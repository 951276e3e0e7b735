#!/usr/bin/env python
"""CPU per redemption, in one process: the figure to compare on a busy machine.

Throughput depends on what else runs on the cores; the CPU a redemption
costs does not (much). This drives the real app's WSGI callable (the till's
lane, and Flask behind it) with N QR redemptions with a Bearer token, one
after the other, and reads ``time.process_time`` around them, and on
PostgreSQL the CPU of the app's own database backend (``/proc``, found by its
``application_name``). Best of ``--repeat``. gunicorn's own request parsing
and the HTTP socket are not in it (``scripts/bench_redeem.py`` measures
those too, under load).

Usage:
    .venv/bin/python -m scripts.bench_redeem_cpu [--only sqlite|postgresql] [--requests 200] [--repeat 15]
        [--ratelimit-storage redis://127.0.0.1:6379] [--profile]

``--profile``: cProfile over one more round, the top functions by own time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchkit import SECRET, TODAY, World, postgres_schema
from tests.benchkit import prepare as prepare_world

_TICK = os.sysconf("SC_CLK_TCK")
APPLICATION_NAME = "bench_redeem_cpu"


def backend_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def backend_pid(url: str) -> int | None:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,))]
    if len(pids) != 1:
        raise RuntimeError(f"expected one backend of the app, found {len(pids)}")
    return pids[0]


def environ_for(world: World, n: int, prefix: str) -> list[dict[str, Any]]:
    """The WSGI environs of ``n`` redemptions (the body and headers wrk sends)."""
    rng = random.Random(n)
    out = []
    for i in range(n):
        payload, voucher_id = rng.choice(world.passes)
        body = json.dumps({"code": payload, "voucher_id": voucher_id, "amount_cents": rng.randint(1, 999)}).encode()
        out.append({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/redemptions", "QUERY_STRING": "", "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Bearer {world.tokens[0]}", "HTTP_IDEMPOTENCY_KEY": f"{prefix}-{i}",
            "_body": body,
        })
    return out


def drive(app: Any, environs: list[dict[str, Any]]) -> None:
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc: Any = None) -> None:
        statuses.append(status)

    for template in environs:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(environ.pop("_body"))
        result = app(environ, start_response)
        b"".join(result)
        close = getattr(result, "close", None)
        if close:
            close()
        if not statuses[-1].startswith("201"):
            raise RuntimeError(f"redemption answered {statuses[-1]}")


def run(name: str, url: str, args: argparse.Namespace, tmp: Path) -> None:
    from pasdienst.config import load_settings
    from pasdienst.web.app import create_app
    from pasdienst.web.extensions import get_db

    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    instance = tmp / f"instance-{dialect}"
    world = prepare_world(url, 200, instance, 1)
    served = f"{url}&application_name={APPLICATION_NAME}" if dialect == "postgresql" else url
    os.environ.update({
        "PASDIENST_DATABASE_URL": served, "PASDIENST_SECRET_KEY": SECRET, "PASDIENST_TODAY": TODAY.isoformat(),
        "PASDIENST_INSTANCE_PATH": str(instance), "PASDIENST_TILL_RATE_LIMIT": "1000000 per minute",
        "PASDIENST_RATELIMIT_STORAGE_URL": args.ratelimit_storage,
    })
    app = create_app(load_settings())
    for handler in logging.getLogger("pasdienst").handlers:  # the log line is written, to nowhere
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # for the life of the process
    drive(app, environ_for(world, 50, "warm"))
    pid = backend_pid(url) if dialect == "postgresql" else None
    best: tuple[float, float] | None = None
    for r in range(args.repeat):
        environs = environ_for(world, args.requests, f"r{r}-{os.getpid()}")
        c0, b0 = time.process_time(), backend_cpu(pid)
        drive(app, environs)
        c1, b1 = time.process_time(), backend_cpu(pid)
        figure = ((c1 - c0) / args.requests, (b1 - b0) / args.requests)
        if best is None or sum(figure) < sum(best):
            best = figure
    assert best is not None
    backend = f", PostgreSQL backend {best[1] * 1000:.2f} ms" if dialect == "postgresql" else ""
    print(f"{name}: CPU per redemption (best of {args.repeat} x {args.requests}): "
          f"app {best[0] * 1000:.2f} ms{backend}", flush=True)
    if args.profile:
        profiler = cProfile.Profile()
        environs = environ_for(world, args.requests, f"p-{os.getpid()}")
        profiler.enable()
        drive(app, environs)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(35)
        print(out.getvalue())
    get_db(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--ratelimit-storage", default="memory://")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-redeem-cpu-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "postgresql"):
            with postgres_schema("pasdienst_bench_redeem_cpu") as url:
                run("PostgreSQL", url, args, tmp)
        if args.only in (None, "sqlite"):
            run("SQLite", f"sqlite:///{tmp / 'sqlite' / 'pasdienst.db'}", args, tmp)


if __name__ == "__main__":
    main()

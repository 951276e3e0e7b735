#!/usr/bin/env python
"""Memory of the app under gunicorn after a redemption load.

Serves the real app (``pasdienst/gunicorn_conf.py``: preloaded, 5 sync
workers) on a throwaway PostgreSQL schema with 200 issued passes, drives
``POST /api/v1/redemptions`` with ``wrk`` (16 connections, 10 s), then prints
the RSS of the master and of each worker and the PSS of all of them together
(``/proc/PID/smaps_rollup``: shared pages counted once, split between the
processes that share them), which is what the machine really spends.

Usage:
    .venv/bin/python -m scripts.bench_memory [--seconds 10] [--workers 5]
"""
from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

from scripts import bench_redeem
from tests import benchkit


def _field(pid: int, path: str, name: str) -> float:
    """A ``kB`` field of a /proc file, in MiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/{path}") as lines:
            for line in lines:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=5)
    args = parser.parse_args()
    wrk = bench_redeem.ensure_wrk()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-memory-")))
        url = stack.enter_context(benchkit.postgres_schema("pasdienst_bench_memory"))
        world = benchkit.prepare(url, 200, tmp / "instance")
        script = tmp / "redeem.lua"
        passes = ", ".join(f'{{"{payload}", {voucher}}}' for payload, voucher in world.passes)
        script.write_text(bench_redeem.LUA % {"passes": passes, "tokens": ", ".join(f'"{t}"' for t in world.tokens)})
        env = benchkit.server_env(
            url, tmp / "instance",
            PASDIENST_TILL_RATE_LIMIT="1000000 per minute", PASDIENST_RATELIMIT_STORAGE_URL="redis://127.0.0.1:6379",
        )
        server = stack.enter_context(
            benchkit.gunicorn("pasdienst.web.app:create_app()", env, workers=args.workers, log=tmp / "gunicorn.log")
        )
        load = bench_redeem.drive(wrk, script, server.url, seconds=args.seconds, clients=16, prefix="memory")
        master, workers = server.process.pid, server.worker_pids()
        pss = sum(_field(pid, "smaps_rollup", "Pss") for pid in [master, *workers])
        rss = [_field(pid, "status", "VmRSS") for pid in workers]
        print(f"after {load.requests} redemptions in {args.seconds} s: master RSS {_field(master, 'status', 'VmRSS'):.0f} MiB, "
              f"workers RSS {', '.join(f'{r:.0f}' for r in rss)} MiB; PSS of all {1 + len(workers)} processes {pss:.0f} MiB")


if __name__ == "__main__":
    main()

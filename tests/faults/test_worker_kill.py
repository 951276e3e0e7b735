"""A gunicorn worker killed (SIGKILL) in the middle of redemptions loses no
cent and charges none twice: the tills resolve every unknown outcome by
retrying with the same Idempotency-Key, and the ledger agrees with them."""
from __future__ import annotations

import os
import signal
import time

import pytest

from tests.benchkit import gunicorn, prepare, server_env
from tests.faults.tills import Tills, check_books

pytestmark = pytest.mark.slow

WORKERS = 3
KILLS = 3


def _wait_for_workers(server, count: int, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        pids = server.worker_pids()
        if len(pids) == count or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killing_workers_mid_load_keeps_every_told_success_exactly_once(database_url, tmp_path):
    world = prepare(database_url, 6, tmp_path / "instance", merchants=2, budget_cents=10_000, token_name="faults")
    env = server_env(database_url, tmp_path / "instance", PASDIENST_TILL_RATE_LIMIT="1000000 per minute",
                     PASDIENST_RATELIMIT_STORAGE_URL="memory://")
    log = tmp_path / "gunicorn.log"
    killed: list[int] = []
    with gunicorn("pasdienst.web.app:create_app()", env, workers=WORKERS, log=log) as server:
        assert len(_wait_for_workers(server, WORKERS)) == WORKERS
        with Tills(server.url, world, clients=8) as tills:
            time.sleep(1.5)
            for _ in range(KILLS):
                victim = server.worker_pids()[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
                time.sleep(1.0)
            time.sleep(1.0)
        assert not tills.errors, tills.errors
        # Gunicorn replaced every killed worker.
        pids = _wait_for_workers(server, WORKERS)
        assert len(pids) == WORKERS and not set(pids) & set(killed), (pids, killed, log.read_text()[-2000:])

    attempts = tills.attempts
    print(tills.summary())
    outcomes = {a.outcome for a in attempts}
    # The load was real: money moved, and refusals came too.
    assert {"success", "failure"} <= outcomes, tills.summary()
    # The kills hit requests in flight (else this test proves nothing about them).
    assert any(a.unknowns for a in attempts), tills.summary()
    check_books(database_url, world, attempts, env)

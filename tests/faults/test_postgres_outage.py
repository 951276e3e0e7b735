"""PostgreSQL stopped for a few seconds in the middle of redemptions: the app
reports itself not ready, comes back by itself when the database does, and
no cent is lost or charged twice.

Runs on a private cluster (see conftest.py): the shared server at :5432 is
used by every other test process and must never be stopped.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.benchkit import gunicorn, prepare, server_env
from tests.faults.tills import Tills, check_books

pytestmark = pytest.mark.slow

WORKERS = 3
OUTAGE_SECONDS = 3.0


def readyz(base_url: str) -> int:
    try:
        with urllib.request.urlopen(base_url + "/readyz", timeout=5) as response:  # our own server
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_database_outage_mid_load_loses_nothing_and_the_app_recovers_by_itself(private_postgres, tmp_path):
    url = private_postgres.url
    world = prepare(url, 6, tmp_path / "instance", merchants=2, budget_cents=10_000, token_name="faults")
    env = server_env(url, tmp_path / "instance", PASDIENST_TILL_RATE_LIMIT="1000000 per minute",
                     PASDIENST_RATELIMIT_STORAGE_URL="memory://")
    log = tmp_path / "gunicorn.log"
    with gunicorn("pasdienst.web.app:create_app()", env, workers=WORKERS, log=log) as server:
        assert readyz(server.url) == 200
        # Small amounts only and a slower pace: the vouchers must still hold
        # money after the outage, to show that redemptions succeed again.
        with Tills(server.url, world, clients=6, small_max_cents=150, pause=0.05) as tills:
            time.sleep(1.5)
            private_postgres.stop("fast")
            down_at = time.monotonic()
            during = [readyz(server.url) for _ in range(WORKERS * 2)]
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
            private_postgres.start()
            back_at = time.monotonic()
            deadline = back_at + 15
            while readyz(server.url) != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            ready_at = time.monotonic()
            # Every worker's pool has met the dead connections by now (the
            # tills keep them all busy) and replaced them.
            time.sleep(1.0)
            after = [readyz(server.url) for _ in range(WORKERS * 2)]
            time.sleep(2.0)
        assert not tills.errors, tills.errors

    attempts = tills.attempts
    print(f"{tills.summary()}; ready {ready_at - back_at:.1f} s after the restart")
    assert set(during) == {503}, f"/readyz during the outage: {during}"
    assert set(after) == {200}, f"/readyz after the outage: {after}"
    # The outage was felt: outcomes went unknown and were resolved by retrying.
    assert any(a.unknowns for a in attempts), tills.summary()
    # Recovered by itself: once ready, new redemptions succeed at the first try.
    later = [a for a in attempts if a.started > ready_at + 1.0]
    assert later, "no redemptions after the outage"
    assert any(a.outcome == "success" for a in later), tills.summary()
    assert not [a for a in later if a.unknowns], [a for a in later if a.unknowns][:3]
    check_books(url, world, attempts, env)

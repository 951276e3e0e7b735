"""The per-till rate limit on scans and redemptions, and its setting."""
from __future__ import annotations

from dataclasses import replace

import pytest
import redis

from pasdienst.config import ConfigError, Settings, load_settings
from pasdienst.redeem.api import TILL_LIMIT
from pasdienst.web.app import create_app


def test_the_till_limit_allows_a_busy_till_by_default(tmp_path):
    from_env = load_settings({"PASDIENST_INSTANCE_PATH": str(tmp_path)}).till_rate_limit
    assert from_env == Settings().till_rate_limit == TILL_LIMIT == "300 per minute"  # CONTRACT.md: at least 120 a minute


def test_pasdienst_till_rate_limit_sets_the_limit_per_token(db, till, tmp_path):
    limit = load_settings({"PASDIENST_INSTANCE_PATH": str(tmp_path), "PASDIENST_TILL_RATE_LIMIT": "2 per minute"}).till_rate_limit
    app = create_app(replace(till.settings, till_rate_limit=limit), db=db)
    client = app.test_client()
    responses = [client.post("/api/v1/scan", json={"code": till.payload}, headers=till.headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    refused = responses[-1]
    assert refused.json["code"] == "rate_limited"
    # Says when the minute's window opens again.
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_a_mistyped_till_limit_stops_the_app_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="PASDIENST_TILL_RATE_LIMIT must be a rate such as '600 per minute'"):
        load_settings({"PASDIENST_INSTANCE_PATH": str(tmp_path), "PASDIENST_TILL_RATE_LIMIT": "lots per minute"})


def test_the_till_limit_on_redis_counts_on_through_a_dropped_connection_and_a_flushed_script(db, till, redis_url):
    app = create_app(replace(till.settings, ratelimit_storage_url=redis_url, till_rate_limit="4 per minute"), db=db)
    client = app.test_client()
    server = redis.Redis.from_url(redis_url)

    def scan() -> int:
        return client.post("/api/v1/scan", json={"code": till.payload}, headers=till.headers).status_code

    statuses = [scan()]
    # Every connection of the app dropped: those to the test database, not
    # every client of the server (another worker's job queue, say).
    database = str(server.connection_pool.connection_kwargs["db"])
    apps = [c["id"] for c in server.client_list(_type="normal") if c["db"] == database and int(c["id"]) != server.client_id()]
    assert apps and all(server.client_kill_filter(_id=id_) == 1 for id_ in apps)
    statuses.append(scan())
    server.script_flush()  # the counter's script is gone: the limiter loads it again
    statuses += [scan(), scan(), scan()]
    assert statuses == [200, 200, 200, 200, 429]
    # One counter, where the limiter's fixed window keeps it, ending with its window.
    (counter,) = server.keys("LIMITS:*")
    assert int(server.get(counter)) == 5 and 0 < server.ttl(counter) <= 60

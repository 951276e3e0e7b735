"""Operations: shared rate limits on Redis, request ids, JSON logs, backups."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import replace

import pytest
import redis

from pasdienst.web.app import create_app

REDIS_URL = os.environ.get("PASDIENST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}); ./scripts/test starts it", pytrace=False)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


def test_two_workers_share_the_login_limit_through_redis(db, settings, redis_url):
    shared = replace(settings, ratelimit_storage_url=redis_url)
    worker_a = create_app(shared, db=db).test_client()
    worker_b = create_app(shared, db=db).test_client()
    from tests.access.helpers import page_csrf_token

    statuses = []
    for n in range(12):
        client = worker_a if n % 2 == 0 else worker_b
        token = page_csrf_token(client)
        response = client.post("/login", data={"email": "nobody@example.nl", "password": "wrong", "csrf_token": token})
        statuses.append(response.status_code)
    # Alone, each worker would have seen only 6 attempts, under the per-address
    # limit of 10 a minute; together they pass it.
    assert 429 in statuses
    assert redis.Redis.from_url(redis_url).dbsize() > 0


def test_every_response_carries_a_request_id_and_logs_one_json_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="pasdienst.request"):
        response = client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"})
        other = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] == "lb-1234abcd"
    assert other.headers["X-Request-ID"] != "bad id with spaces" and len(other.headers["X-Request-ID"]) == 16
    record = next(r for r in caplog.records if getattr(r, "request_id", None) == "lb-1234abcd")
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)


def test_pass_tokens_never_reach_the_log(client, caplog):
    from pasdienst.web.requestlog import loggable_path

    assert loggable_path("/p/ABCDEFGHJKMNP.xyz123/brief") == "/p/<token>/brief"
    with caplog.at_level(logging.INFO, logger="pasdienst.request"):
        client.get("/p/ABCDEFGHJKMNP.SECRETMAC00")
    assert all("SECRETMAC00" not in json.dumps(vars(r), default=str) for r in caplog.records)


def test_backup_copies_the_sqlite_database_online(cli, db, tmp_path):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    target = tmp_path / "backups" / "pasdienst-2027-01-01.db"
    result = cli("backup", str(target))
    assert result.stdout.splitlines()[-1] == str(target)
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT code FROM municipality").fetchall() == [("opsterland",)]
    copy.close()
    again = cli("backup", str(target), ok=False)
    assert again.exit_code == 1 and "exists already" in again.stderr


def test_backup_refuses_postgresql_with_a_pointer_to_pg_dump(cli):
    result = cli("backup", "/tmp/x.db", ok=False, env={"PASDIENST_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/x"})
    assert result.exit_code == 1 and "pg_dump" in result.stderr


def test_gunicorn_freezes_the_preloaded_app_before_each_fork():
    """Workers' garbage collection must not walk (and so copy) the pages they
    share with the master: 374 -> 242 MiB PSS for five workers (scripts/bench_memory.py)."""
    import gc

    from pasdienst import gunicorn_conf

    assert gunicorn_conf.preload_app is True
    gc.unfreeze()
    try:
        gunicorn_conf.pre_fork(None, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()

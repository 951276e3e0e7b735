"""Operations: shared rate limits on Redis, request ids, JSON logs, backups."""
from __future__ import annotations

import io
import json
import logging
import sqlite3
from dataclasses import replace

import pytest
import redis

from pasdienst.web.app import create_app
from tests.factories import page_csrf_token


def test_two_workers_share_the_login_limit_through_redis(db, settings, redis_url):
    shared = replace(settings, ratelimit_storage_url=redis_url)
    worker_a = create_app(shared, db=db).test_client()
    worker_b = create_app(shared, db=db).test_client()
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


TOKEN = "ABCDEFGHJKMNP.SECRETMAC00"


@pytest.fixture
def log_lines():
    """What pasdienst's log handler writes (its JSON lines), as a list of strings."""
    from pasdienst.web.requestlog import configure_logging

    configure_logging()
    (handler,) = [h for h in logging.getLogger("pasdienst").handlers if getattr(h, "_pasdienst", False)]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: stream.getvalue().splitlines()
    handler.setStream(previous)


def test_flasks_exception_log_masks_the_pass_token(app, monkeypatch, caplog, log_lines):
    from pasdienst.wallet import views as wallet_views

    def boom(token):
        raise RuntimeError(f"could not read pass {token}")

    monkeypatch.setattr(wallet_views, "_view", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: Flask logs it and answers 500
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(f"/p/{TOKEN}")
    assert response.status_code == 500

    (record,) = [r for r in caplog.records if r.name == app.logger.name]
    assert record.getMessage() == "Exception on /p/<token> [GET]"
    assert TOKEN not in caplog.text and "SECRETMAC00" not in caplog.text
    assert "could not read pass <token>" in caplog.text  # the traceback is kept, masked
    (line,) = [json.loads(x) for x in log_lines() if '"level": "ERROR"' in x]
    assert line["message"] == "Exception on /p/<token> [GET]"
    assert "could not read pass <token>" in line["exc_info"]
    assert all("SECRETMAC00" not in x for x in log_lines())


def test_no_log_line_carries_a_pass_token_whoever_writes_it(app, log_lines, caplog):
    # Any pasdienst logger: the JSON lines are masked as they are written.
    logging.getLogger("pasdienst.anything").warning("scan of %s failed", f"https://pas.example.nl/p/{TOKEN}")
    logging.getLogger("pasdienst.anything").warning("bare token %s", TOKEN)
    # The development server's and gunicorn's own request lines (caplog collects them).
    with caplog.at_level(logging.INFO, logger="werkzeug"), caplog.at_level(logging.INFO, logger="gunicorn.error"):
        logging.getLogger("werkzeug").info('127.0.0.1 - - "%s" %s %s', f"GET /p/{TOKEN}/brief HTTP/1.1", "200", "-")
        logging.getLogger("gunicorn.error").error("Error handling request %s", f"/p/{TOKEN}")
    records = [r for r in caplog.records if r.name in ("werkzeug", "gunicorn.error")]
    lines = log_lines()
    assert len(lines) == 2 and all("SECRETMAC00" not in x for x in lines)
    assert "/p/<token>" in lines[0] and "bare token <token>" in lines[1]
    assert [r.getMessage() for r in records] == [
        '127.0.0.1 - - "GET /p/<token>/brief HTTP/1.1" 200 -',
        "Error handling request /p/<token>",
    ]


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

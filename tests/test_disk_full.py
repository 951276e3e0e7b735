"""A full disk is an outage with a clear answer, never a 500.

503 with ``Retry-After``: problem+json ``storage_full`` on the API, a Dutch
page elsewhere. The full disk comes under each of its names: the system's
ENOSPC, SQLite's "database or disk is full" (for real, below) and
PostgreSQL's DiskFull, each as SQLAlchemy wraps it.
"""
from __future__ import annotations

import errno
import io
import re
import sqlite3

import psycopg.errors
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from pasdienst.db import is_disk_full
from pasdienst.wallet.models import Child
from tests.factories import api_headers, login_as

STORAGE_FULL_NL = "De server kan op dit moment niets opslaan, want de opslag is vol."


def _sqlite_full() -> sqlite3.OperationalError:
    """SQLite's own error, from a database that really is full."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 2")
    try:
        for _ in range(100):
            conn.execute("INSERT INTO t VALUES (randomblob(2000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("the database never filled up")


def _wrapped(orig: Exception) -> OperationalError:
    return OperationalError("INSERT INTO redemption ...", {}, orig)


FULL_DISKS = {
    "ENOSPC": lambda: OSError(errno.ENOSPC, "No space left on device"),
    "sqlite": lambda: _wrapped(_sqlite_full()),
    "postgresql": lambda: _wrapped(psycopg.errors.DiskFull("could not extend file: No space left on device")),
    "ENOSPC at commit": lambda: _wrapped(OSError(errno.ENOSPC, "No space left on device")),
}


@pytest.mark.parametrize("name", FULL_DISKS)
def test_a_full_disk_is_recognised_under_each_of_its_names(name):
    assert is_disk_full(FULL_DISKS[name]())


def test_other_errors_are_not_a_full_disk():
    assert not is_disk_full(OSError(errno.ENOENT, "No such file"))
    assert not is_disk_full(_wrapped(psycopg.errors.UniqueViolation("duplicate key")))
    assert not is_disk_full(_wrapped(sqlite3.OperationalError("database is locked")))


@pytest.mark.parametrize("name", FULL_DISKS)
def test_the_api_answers_503_storage_full(app, db, monkeypatch, name):
    # The redemption itself: tests/redeem/test_till_disk_full.py.
    from pasdienst.redeem import redemptions

    def full(*_args, **_kwargs):
        raise FULL_DISKS[name]()

    monkeypatch.setattr(redemptions, "scan", full)
    client = app.test_client()
    login_as(client, "merchant")
    response = client.post("/api/v1/scan", json={"code": "https://pas.example.nl/p/x"}, headers=api_headers(client))
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.json["code"] == "storage_full" and response.headers["Retry-After"] == "60"


@pytest.mark.parametrize("name", FULL_DISKS)
def test_a_staff_page_answers_a_dutch_503(app, db, monkeypatch, name):
    from pasdienst.admin.views import budget as views

    def full(*_args, **_kwargs):
        raise FULL_DISKS[name]()

    monkeypatch.setattr(views, "topup_budget", full)
    client = app.test_client()
    login_as(client, "admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/budget").get_data(as_text=True)).group(1)
    response = client.post("/admin/budget/ophogen", data={"csrf_token": token, "amount": "100,00", "reference": "x"})
    assert response.status_code == 503 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert STORAGE_FULL_NL in page and "Tijdelijk niet beschikbaar" in page


def test_any_other_os_error_is_not_passed_off_as_a_full_disk(app, db, monkeypatch):
    from pasdienst.admin.views import budget as views

    def broken(*_args, **_kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(views, "topup_budget", broken)
    client = app.test_client()
    login_as(client, "admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/budget").get_data(as_text=True)).group(1)
    with pytest.raises(OSError, match="Input/output error"):  # testing: unhandled errors surface
        client.post("/admin/budget/ophogen", data={"csrf_token": token, "amount": "100,00", "reference": "x"})


def test_a_really_full_sqlite_database_answers_503_and_keeps_nothing(app, db, settings):
    client = app.test_client()
    login_as(client, "admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/import").get_data(as_text=True)).group(1)
    with db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    # From now on the file cannot grow: as when the disk under it is full.
    @event.listens_for(db.engine, "connect")
    def _no_room(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    db.engine.dispose()
    rows = "".join(f"K-{n};Kind{n};2015-05-01;110;\n" for n in range(3000))
    data = ("child_ref;first_name;birth_date;income_pct;bsn\n" + rows).encode()
    response = client.post(
        "/admin/import", data={"csrf_token": token, "file": (io.BytesIO(data), "kinderen.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 503
    assert STORAGE_FULL_NL in response.get_data(as_text=True)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Child)).scalar_one() == 0

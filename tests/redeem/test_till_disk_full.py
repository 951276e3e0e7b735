"""The till's redemption on a full disk: 503 storage_full, nothing charged.

The lean path (a Bearer call with a QR code) runs on the bare driver, whose
errors come unwrapped; the session path goes through SQLAlchemy. Both
answer the same.
"""
from __future__ import annotations

import errno
import sqlite3

import psycopg.errors
import pytest
from sqlalchemy import func, select

from pasdienst.redeem.models import Redemption
from tests.factories import api_headers, login_as

pytestmark = pytest.mark.money


def _sqlite_full() -> sqlite3.OperationalError:
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


RAW = {
    "sqlite": _sqlite_full,
    "postgresql": lambda: psycopg.errors.DiskFull("could not extend file: No space left on device"),
    "ENOSPC": lambda: OSError(errno.ENOSPC, "No space left on device"),
}


def _charged(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Redemption)).scalar_one()


@pytest.mark.parametrize("name", RAW)
@pytest.mark.parametrize("caller", ["bearer", "session"])
def test_a_redemption_on_a_full_disk_answers_503_and_charges_nothing(db, till, monkeypatch, name, caller):
    from pasdienst.redeem import redemptions

    if caller == "session":
        client = till.app.test_client()
        login_as(client, "merchant", municipality="testdorp", merchant_id=till.merchant_id)
        headers = api_headers(client)
    else:
        client, headers = till.client, till.headers

    def pay():
        body = {"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 1250}
        return client.post("/api/v1/redemptions", json=body, headers={**headers, "Idempotency-Key": "k-full"})

    def full(*_args, **_kwargs):
        raise RAW[name]()

    monkeypatch.setattr(redemptions, "_redeem_on", full)  # inside the driver's transaction
    response = pay()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["code"] == "storage_full" and response.headers["Retry-After"] == "60"
    assert _charged(db) == 0

    monkeypatch.undo()  # room again: the same key charges once
    assert pay().status_code == 201 and pay().status_code == 201
    assert _charged(db) == 1

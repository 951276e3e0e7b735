"""A municipality with one issued pass and a sports club at the till."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sqlalchemy import text

from pasdienst.redeem import tillsql
from pasdienst.wallet.services import resolve_pass
from pasdienst.web.app import create_app
from tests.factories import TODAY, bearer, issue_world, make_merchant, make_token, make_user

@dataclass
class Till:
    app: object
    client: object
    headers: dict
    merchant_id: int
    payload: str  # the QR payload of Sanne's pass
    code: str  # her typed code
    number: str  # her pass number (KP-…), as in the mail-merge export
    other_payload: str  # Daan's pass
    other_code: str  # Daan's typed code
    vouchers: dict  # (kind, category) -> voucher id on Sanne's pass
    settings: object

    def post(self, path, json=None, headers=None, **kw):
        return self.client.post(path, json=json, headers={**self.headers, **(headers or {})}, **kw)

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def redeem(self, key="k1", **body):
        body.setdefault("code", self.payload)
        return self.post("/api/v1/redemptions", json=body, headers={"Idempotency-Key": key})


@pytest.fixture
def till_settings(settings):
    return replace(settings, today=TODAY)


@pytest.fixture
def till(db, till_settings) -> Till:
    rows, vouchers = issue_world(db, till_settings)
    merchant_id = make_merchant(db, "testdorp", name="Sportclub De Sprint", categories=("sport_culture",))
    user = make_user(db, "merchant", municipality="testdorp", merchant_id=merchant_id)
    app = create_app(till_settings, db=db)
    app.config.update(TESTING=True)
    sanne = rows["T-1"]
    with db.read() as s:
        sanne_pass = resolve_pass(s, sanne.url, settings=till_settings, today=TODAY).id
    return Till(
        app=app,
        client=app.test_client(),
        headers=bearer(make_token(db, user)),
        merchant_id=merchant_id,
        payload=sanne.url,
        code=sanne.code,
        number=sanne.pass_id,
        other_payload=rows["T-2"].url,
        other_code=rows["T-2"].code,
        vouchers=vouchers[sanne_pass],
        settings=till_settings,
    )


def merchant_client(db, till, *, categories=("clothing",), name="Mode & Zo"):
    """A second merchant's authenticated headers."""
    merchant_id = make_merchant(db, "testdorp", name=name, categories=categories)
    user = make_user(db, "merchant", municipality="testdorp", merchant_id=merchant_id)
    return bearer(make_token(db, user))


def hold_the_keys_lock(connection, merchant_id: int, key: str) -> None:
    """Take, in this connection's schema, the advisory lock the till's own statement takes for this key."""
    connection.execute(text("BEGIN"))
    taken = connection.execute(
        text(f"SELECT true{tillsql._PG_LOCK} FROM (SELECT CAST(:m AS bigint) AS id) AS m"),
        {"m": merchant_id, "key": key},
    ).one()
    assert taken[1], "somebody else holds the key's lock"

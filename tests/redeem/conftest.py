"""A municipality with one issued pass and a sports club at the till."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from pasdienst.municipalities.services import topup_budget
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import export_rows, import_children, issue_passes, load_scheme
from pasdienst.web.app import create_app
from tests.access.helpers import bearer, make_merchant, make_municipality, make_token, make_user

TODAY = date(2027, 3, 15)

SCHEME = sample_scheme("testdorp", 2027)

CHILDREN = b"child_ref;first_name;birth_date;income_pct;bsn\nT-1;Sanne;2015-05-01;110;111222333\nT-2;Daan;2012-02-02;100;\n"


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


def issue_world(db, settings, *, today=TODAY):
    make_municipality(db, "testdorp")
    with db.transaction() as s:
        topup_budget(s, "testdorp", "10000.00", reference="test")
        load_scheme(s, SCHEME)
        import_children(s, "testdorp", CHILDREN, settings=settings, today=today)
        issue_passes(s, "testdorp", 2027, settings=settings, today=today)
    with db.read() as s:
        rows = {r.child_ref: r for r in export_rows(s, "testdorp", settings=settings, today=today)}
        vouchers = {}
        for v in s.query(Voucher).all():
            vouchers.setdefault(v.pass_id, {})[(v.kind, v.category)] = v.id
    return rows, vouchers


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
        from pasdienst.wallet.services import resolve_pass

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
    from sqlalchemy import text

    from pasdienst.redeem import tillsql

    connection.execute(text("BEGIN"))
    taken = connection.execute(
        text(f"SELECT true{tillsql._PG_LOCK} FROM (SELECT CAST(:m AS bigint) AS id) AS m"),
        {"m": merchant_id, "key": key},
    ).one()
    assert taken[1], "somebody else holds the key's lock"

"""Test data for every feature: municipalities, merchants, users, logins, issued passes.

    from tests.factories import login_as, make_user, api_headers

    def test_finance_sees_the_batches(client, db):
        login_as(client, "finance")                 # a finance user of "testdorp", logged in
        assert client.get("/finance").status_code == 200

    def test_a_merchant_can_scan(client, db):
        user = login_as(client, "merchant")         # with a merchant of its own: user.merchant_id
        client.post("/api/v1/scan", json={...}, headers=api_headers(client))   # X-CSRFToken

    token = make_token(db, user)                    # "Authorization: Bearer …" instead of a session

``login_as`` puts the user straight into the session cookie (no login form,
no rate limit, no password hash to check): the login itself is tested in
``tests/access/test_login.py``. Every user gets the same password,
``TEST_PASSWORD``, hashed once per process.

``issue_world(db, settings)`` issues the 2027 passes of ``testdorp``'s two
children, Sanne (T-1) and Daan (T-2), under the sample scheme (``SCHEME``);
``till_actor(merchant_id)`` is a merchant's till without a user row.
"""
from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from pasdienst.access.models import User
from pasdienst.access.accounts import create_user
from pasdienst.access.logins import session_version, start_session
from pasdienst.access.passwords import hash_password
from pasdienst.access.policy import Actor
from pasdienst.access.tokens import create_token
from pasdienst.access.web import session_id
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.merchants.records import add_merchant
from pasdienst.redeem.models import Merchant
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import ExportRow, export_rows, import_children, issue_passes, load_scheme

TEST_PASSWORD = "correct horse battery staple"
TEST_MUNICIPALITY = "testdorp"
OTHER_MUNICIPALITY = "anderdorp"
#: Valid IBANs of known Dutch banks, for test merchants.
TEST_IBANS = ("NL91ABNA0417164300", "NL44RABO0123456789", "NL69INGB0123456789", "NL02ABNA0123456789")

_counter = itertools.count(1)


@lru_cache(maxsize=1)
def cached_password_hash() -> str:
    return hash_password(TEST_PASSWORD)


@dataclass(frozen=True)
class MadeUser:
    id: int
    email: str
    role: str
    municipality: str
    merchant_id: int | None
    #: Part of the session cookie's user id; changes with the password.
    version: str
    password: str = TEST_PASSWORD


def _db_of(target: Database | FlaskClient) -> Database:
    if isinstance(target, Database):
        return target
    return target.application.extensions["pasdienst.db"]


def make_municipality(db: Database, code: str = TEST_MUNICIPALITY) -> int:
    with db.transaction() as s:
        found = s.execute(select(Municipality.id).where(Municipality.code == code)).scalar()
        if found is not None:
            return found
        return add_municipality(s, code, name=f"Gemeente {code.title()}", iban="NL91ABNA0417164300").id


def make_merchant(
    db: Database,
    municipality: str = TEST_MUNICIPALITY,
    *,
    name: str | None = None,
    categories: tuple[str, ...] = ("school", "clothing"),
    status: str = "approved",
) -> int:
    make_municipality(db, municipality)
    with db.transaction() as s:
        merchant = add_merchant(
            s, municipality, name=name or f"Testwinkel {next(_counter)}", categories=categories,
            iban=TEST_IBANS[0], status=status,
        )
        return merchant.id


def make_user(
    db: Database | FlaskClient,
    role: str,
    *,
    municipality: str = TEST_MUNICIPALITY,
    merchant_id: int | None = None,
    email: str | None = None,
    must_change_password: bool = False,
) -> MadeUser:
    """A user of ``role`` in ``municipality`` (made if missing); a merchant user gets its own merchant."""
    database = _db_of(db)
    make_municipality(database, municipality)
    if role == "merchant" and merchant_id is None:
        merchant_id = make_merchant(database, municipality)
    email = email or f"{role}{next(_counter)}@{municipality}.example"
    with database.transaction() as s:
        user, _ = create_user(
            s, email, role=role,
            municipality_code=None if role == "merchant" else municipality,
            merchant_id=merchant_id, password=TEST_PASSWORD, password_hash=cached_password_hash(),
            must_change_password=must_change_password,
        )
        if role == "merchant":
            municipality = s.execute(
                select(Municipality.code).join(Merchant, Merchant.municipality_id == Municipality.id)
                .where(Merchant.id == merchant_id)
            ).scalar_one()
        return MadeUser(user.id, user.email, user.role, municipality, user.merchant_id, session_version(user))


def login_as(client: FlaskClient, who: str | MadeUser, **make: Any) -> MadeUser:
    """Log ``client`` in as ``who`` (a role: a new user is made with ``make_user(**make)``)."""
    user = who if isinstance(who, MadeUser) else make_user(client, who, **make)
    with _db_of(client).transaction() as s:
        key = start_session(s, user.id)
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = session_id(user.id, user.version, key)
        session["_fresh"] = True
        session["csrf_token"] = secrets.token_hex(20)
    return user


def api_headers(client: FlaskClient) -> dict[str, str]:
    """The ``X-CSRFToken`` header a logged-in page sends with its API calls (no request needed).

    Signed exactly as flask-wtf's ``generate_csrf`` does; ``GET /api/v1/me``
    hands out the same token.
    """
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", secrets.token_hex(20))
    signed = URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps(raw)
    return {"X-CSRFToken": signed}


def page_csrf_token(client: FlaskClient) -> str:
    """The CSRF token an anonymous visitor gets with the login form."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no csrf_token in the login form"
    return match.group(1)


def make_token(db: Database | FlaskClient, user: MadeUser, name: str | None = None) -> str:
    with _db_of(db).transaction() as s:
        return create_token(s, user.email, name)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_count(db: Database) -> int:
    with db.read() as s:
        return len(s.execute(select(User.id)).all())


# -- an issued municipality -------------------------------------------------------

#: "Today" of the issued world: inside the 2027 scheme.
TODAY = date(2027, 3, 15)
SCHEME = sample_scheme(TEST_MUNICIPALITY, 2027)
#: Sanne (11 on TODAY, on the sliding scale's full amount) and Daan.
CHILDREN = b"child_ref;first_name;birth_date;income_pct;bsn\nT-1;Sanne;2015-05-01;110;111222333\nT-2;Daan;2012-02-02;100;\n"


def issue_world(
    db: Database, settings: Settings, *, today: date = TODAY
) -> tuple[dict[str, ExportRow], dict[int, dict[tuple[str, str], int]]]:
    """``testdorp``'s 2027 passes for CHILDREN: (child ref → export row, pass id → {(kind, category): voucher id})."""
    make_municipality(db, TEST_MUNICIPALITY)
    with db.transaction() as s:
        topup_budget(s, TEST_MUNICIPALITY, "10000.00", reference="test")
        load_scheme(s, SCHEME)
        import_children(s, TEST_MUNICIPALITY, CHILDREN, settings=settings, today=today)
        issue_passes(s, TEST_MUNICIPALITY, 2027, settings=settings, today=today)
    with db.read() as s:
        rows = {r.child_ref: r for r in export_rows(s, TEST_MUNICIPALITY, settings=settings, today=today)}
        vouchers: dict[int, dict[tuple[str, str], int]] = {}
        for v in s.execute(select(Voucher)).scalars():
            vouchers.setdefault(v.pass_id, {})[(v.kind, v.category)] = v.id
    return rows, vouchers


def till_actor(merchant_id: int) -> Actor:
    """A merchant's till as the redeem service sees it (no user row behind it)."""
    return Actor(user_id=None, email="kassa@test.example", role="merchant", municipality_id=None,
                 municipality_code=None, merchant_id=merchant_id)

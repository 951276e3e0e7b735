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

``World`` is what every feature's world holds (the database, the settings,
the municipality and its merchants, the issued rows and vouchers) with the
helpers they share; ``issued_world`` builds it from ``issue_world``, and
``issue_municipality`` issues any other municipality's children. A feature
subclasses ``World`` for its own people and steps (tests/settlement/conftest.py,
tests/reports/world.py, tests/reminders/world.py).
"""
from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from pasdienst.access.models import User
from pasdienst.access.accounts import actor_for_email, create_user
from pasdienst.access.logins import session_version, start_session
from pasdienst.access.passwords import hash_password
from pasdienst.access.policy import Actor
from pasdienst.access.tokens import create_token
from pasdienst.access.web import session_id
from pasdienst.clock import AMSTERDAM
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.merchants.records import add_merchant
from pasdienst.redeem import redemptions
from pasdienst.merchants.models import Merchant
from pasdienst.wallet import tokens
from pasdienst.wallet.models import Child, ChildPass, Voucher
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


def issue_municipality(
    db: Database, settings: Settings, code: str, children: bytes, *, year: int, today: date, budget: str = "100000.00"
) -> int:
    """``code``'s passes of ``year`` for ``children`` under the sample scheme, issued on ``today``; its id."""
    municipality_id = make_municipality(db, code)
    with db.transaction() as s:
        topup_budget(s, code, budget, reference="test")
        load_scheme(s, sample_scheme(code, year))
        import_children(s, code, children, settings=settings, today=today)
        issue_passes(s, code, year, settings=settings, today=today)
    return municipality_id


@dataclass
class World:
    """An issued municipality: what the feature worlds share."""

    db: Database
    settings: Settings
    municipality_id: int
    #: name → merchant id
    merchants: dict[str, int] = field(default_factory=dict)
    #: child ref → export row (url, code, pass_id "KP-…"), when issued by ``issue_world``
    rows: dict[str, ExportRow] = field(default_factory=dict)
    #: pass id → {(kind, category): voucher id}
    vouchers: dict[int, dict[tuple[str, str], int]] = field(default_factory=dict)
    year: int = 2027

    def till(self, merchant: str) -> Actor:
        """The merchant's till (a merchant actor without a user row)."""
        return till_actor(self.merchants[merchant])

    def actor(self, user: MadeUser) -> Actor:
        with self.db.read() as s:
            return actor_for_email(s, user.email)

    def current_pass(self, child_ref: str) -> ChildPass:
        """The newest generation of a child's pass (child refs are unique across a world)."""
        with self.db.read() as s:
            return s.execute(
                select(ChildPass).join(Child, Child.id == ChildPass.child_id)
                .where(Child.child_ref == child_ref, ChildPass.year == self.year)
                .order_by(ChildPass.generation.desc()).limit(1)
            ).scalar_one()

    def redeem_voucher(
        self, child_ref: str, merchant: str, kind: str, category: str, at: datetime, *, cents: int | None = None,
        strips: int | None = None, key: str,
    ) -> int:
        """A redemption at ``merchant``'s till from the child's current pass, at ``at``; its id."""
        child_pass = self.current_pass(child_ref)
        with self.db.transaction() as s:
            voucher_id = s.execute(
                select(Voucher.id).where(Voucher.pass_id == child_pass.id, Voucher.kind == kind, Voucher.category == category)
            ).scalar_one()
            return redemptions.redeem(
                s, self.till(merchant), code=tokens.payload_for(self.settings, child_pass.handle),
                voucher_id=voucher_id, amount_cents=cents, strips=strips, idempotency_key=key,
                settings=self.settings, today=at.astimezone(AMSTERDAM).date(), now=at,
            ).id


def issued_world(db: Database, settings: Settings, **merchants: tuple[str, tuple[str, ...]]) -> World:
    """``issue_world``'s passes as a ``World``, with ``merchants`` (key=(name, categories)) of ``testdorp``."""
    rows, vouchers = issue_world(db, settings)
    made = {
        key: make_merchant(db, TEST_MUNICIPALITY, name=name, categories=categories)
        for key, (name, categories) in merchants.items()
    }
    return World(db, settings, make_municipality(db, TEST_MUNICIPALITY), made, rows, vouchers)

"""The till's redemption on its lean path: the API token resolved in the
redemption's own first statement, the write tail sent with the COMMIT, and
every rule of the full path kept."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from pasdienst.access.models import ApiToken
from pasdienst.access.accounts import set_user_active
from pasdienst.access.tokens import revoke_token
from pasdienst.ledger import verify
from pasdienst.redeem.models import Redemption, Refusal
from pasdienst.redeem.schemas import RedemptionOut
from pasdienst.web.app import create_app
from tests.factories import api_headers, bearer, login_as, make_token, make_user

pytestmark = pytest.mark.money


def counts(db) -> tuple[int, int]:
    with db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Redemption)).scalar_one(),
            s.execute(select(func.count()).select_from(Refusal)).scalar_one(),
        )


@contextmanager
def wire(db) -> Iterator[dict[str, list[str] | int]]:
    """What the bare-driver connections checked out meanwhile sent: the
    statements, and (PostgreSQL) the round trips: how often the client
    turned from sending to receiving."""
    seen: dict[str, list[str] | int] = {"statements": [], "round_trips": 0}
    traces: list[tuple[object, object]] = []

    def checkout(dbapi_conn, _record, _proxy):
        if db.dialect == "sqlite":
            def statement(sql: str) -> None:
                # SQLite reports a statement again for each row its triggers run on.
                if not sql.startswith("--") and seen["statements"][-1:] != [sql]:
                    seen["statements"].append(sql)
            dbapi_conn.set_trace_callback(statement)
            traces.append((dbapi_conn, None))
            return
        from psycopg import pq

        handle = tempfile.TemporaryFile()
        dbapi_conn.pgconn.trace(handle.fileno())
        dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        traces.append((dbapi_conn, handle))

    event.listen(db.engine, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(db.engine, "checkout", checkout)
        for conn, handle in traces:
            if handle is None:
                conn.set_trace_callback(None)
                continue
            conn.pgconn.untrace()
            handle.seek(0)
            last = ""
            for line in handle.read().decode().splitlines():
                direction = line[:1]
                if direction == "B" and last == "F":
                    seen["round_trips"] += 1
                last = direction or last
                if direction == "F" and ("\tParse\t" in line or "\tQuery\t" in line):
                    seen["statements"].append(line.split("\t")[-1])
            handle.close()


def test_a_redemption_on_postgresql_is_two_round_trips_and_never_writes_the_payable_row(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    with wire(db) as sent:
        response = till.redeem("wire", voucher_id=voucher, amount_cents=1250)
    assert response.status_code == 201 and response.json["balance_after_cents"] == 13_750
    if db.dialect == "postgresql":
        # BEGIN with who, what and the key's lock; then the write tail with the COMMIT.
        assert sent["round_trips"] == 2, sent
    else:
        # BEGIN IMMEDIATE, context, debit, postings, transfer, redemption,
        # the token's first use, COMMIT: in-process calls under the write lock.
        assert len(sent["statements"]) <= 8, [s[:40] for s in sent["statements"]]
    assert not [s for s in sent["statements"] if "balance + " in s], "a statement on the merchant's payable"
    with db.read() as s:
        assert verify(s).ok


def test_a_token_revoked_meanwhile_redeems_nothing_at_once(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    assert till.redeem("before", voucher_id=voucher, amount_cents=100).status_code == 201
    with db.transaction() as s:
        revoke_token(s, s.execute(select(ApiToken.id)).scalar_one())
    response = till.redeem("after", voucher_id=voucher, amount_cents=100)
    assert (response.status_code, response.json["code"]) == (401, "unauthenticated")
    # Not a refusal of a merchant: nobody to log it for.
    assert counts(db) == (1, 0)


def test_a_blocked_till_user_redeems_nothing(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    with db.read() as s:
        from pasdienst.access.models import User

        email = s.execute(select(User.email).where(User.merchant_id == till.merchant_id)).scalar_one()
    with db.transaction() as s:
        set_user_active(s, email, False)
    response = till.redeem("blocked", voucher_id=voucher, amount_cents=100)
    assert (response.status_code, response.json["code"]) == (401, "unauthenticated")
    assert counts(db) == (0, 0)


def test_a_token_of_another_role_is_403_and_logs_no_refusal(db, till):
    admin = make_user(db, "admin", municipality="testdorp")
    response = till.client.post(
        "/api/v1/redemptions",
        json={"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 100},
        headers={**bearer(make_token(db, admin)), "Idempotency-Key": "admin"},
    )
    assert (response.status_code, response.json["code"]) == (403, "forbidden")
    assert counts(db) == (0, 0)


def test_a_refused_redemption_is_logged_for_the_merchant_and_user_of_the_token(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    response = till.redeem("too-much", voucher_id=voucher, amount_cents=15_001)
    assert (response.status_code, response.json["code"]) == (409, "insufficient_balance")
    assert response.json["detail"] == "the voucher holds 15000 cents, 15001 requested"
    with db.read() as s:
        refusal = s.execute(select(Refusal)).scalar_one()
        assert (refusal.merchant_id, refusal.action, refusal.reason) == (till.merchant_id, "redeem", "insufficient_balance")
        assert refusal.user_id is not None
        # The token's use is recorded even though nothing was redeemed.
        assert s.execute(select(ApiToken.last_used_at)).scalar_one() is not None
    assert counts(db) == (0, 1)


def test_the_lean_answer_is_the_answer_the_schema_writes(db, till):
    lean = till.redeem("same", voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=1250)
    assert lean.status_code == 201 and RedemptionOut().validate(lean.json) == {}
    # A session caller takes the full path (marshmallow all the way): the
    # stored answer for the same key reads the same.
    client = till.app.test_client()
    user = login_as(client, "merchant", municipality="testdorp", merchant_id=till.merchant_id)
    assert user.merchant_id == till.merchant_id
    full = client.post(
        "/api/v1/redemptions",
        json={"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 1250},
        headers={**api_headers(client), "Idempotency-Key": "same"},
    )
    assert full.status_code == 201 and full.headers["Idempotent-Replayed"] == "true"
    assert full.json == lean.json
    assert lean.headers["Content-Type"] == full.headers["Content-Type"]


def test_the_till_limit_counts_redemptions_before_anything_reads_the_database(db, till):
    client = create_app(replace(till.settings, till_rate_limit="2 per minute"), db=db).test_client()
    voucher = till.vouchers[("budget", "sport_culture")]
    statuses = []
    for n in range(3):
        response = client.post(
            "/api/v1/redemptions",
            json={"code": till.payload, "voucher_id": voucher, "amount_cents": 100},
            headers={**till.headers, "Idempotency-Key": f"limit-{n}"},
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429]
    assert response.json["code"] == "rate_limited" and 1 <= int(response.headers["Retry-After"]) <= 60
    assert counts(db) == (2, 0)


def test_a_bearer_call_neither_reads_nor_sets_the_session_cookie(db, till):
    client = till.app.test_client()
    login_as(client, "merchant", municipality="testdorp", merchant_id=till.merchant_id)
    response = till.redeem("cookie", voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=100)
    assert response.status_code == 201 and "Set-Cookie" not in response.headers
    # A bad token is refused even though this client's session is logged in.
    refused = client.post(
        "/api/v1/redemptions",
        json={"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 100},
        headers={"Authorization": "Bearer pd_" + "B" * 43, "Idempotency-Key": "cookie-2"},
    )
    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers


@pytest.mark.parametrize("backend", ["postgresql"])
def test_another_installation_in_the_same_database_does_not_hold_this_ones_keys(db, till):
    """Advisory locks are per database; the key's lock is per schema."""
    from sqlalchemy import text

    from tests.redeem.conftest import hold_the_keys_lock

    with db.engine.connect() as other_installation:
        other_installation.execute(text("SET search_path TO public"))
        hold_the_keys_lock(other_installation, till.merchant_id, "shared-db")
        response = till.redeem("shared-db", voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=100)
        other_installation.execute(text("ROLLBACK"))
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_twin_holding_the_keys_lock_gets_request_in_progress_on_the_lean_path(db, till):
    from sqlalchemy import text

    from tests.redeem.conftest import hold_the_keys_lock

    with db.engine.connect() as other_worker:
        hold_the_keys_lock(other_worker, till.merchant_id, "held")
        response = till.redeem("held", voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=100)
        other_worker.execute(text("ROLLBACK"))
    assert (response.status_code, response.json["code"]) == (409, "request_in_progress")
    assert counts(db) == (0, 0)
    assert till.redeem("held", voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=100).status_code == 201



@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_tills_prepared_statements_are_prepared_again_when_the_server_forgot_them(db, till):
    from pasdienst.redeem import redemptions

    voucher = till.vouchers[("budget", "sport_culture")]
    assert till.redeem("p-1", voucher_id=voucher, amount_cents=100).status_code == 201

    def forget() -> None:
        # What psycopg sends after a rollback on a connection where it prepared its own.
        fairies = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
        for fairy in fairies:
            fairy.driver_connection.execute("DEALLOCATE ALL")
            fairy.driver_connection.commit()
            fairy.close()

    forget()
    assert till.redeem("p-2", voucher_id=voucher, amount_cents=100).json["balance_after_cents"] == 14_800
    # A refusal rolls back; the session path prepares in the caller's transaction.
    assert till.redeem("p-3", voucher_id=voucher, amount_cents=99_999).status_code == 409
    with db.read() as s:
        from pasdienst.access.models import User
        from pasdienst.access.accounts import actor_for_email

        actor = actor_for_email(s, s.execute(select(User.email).where(User.merchant_id == till.merchant_id)).scalar_one())
    with db.transaction() as s:
        redemptions.redeem(
            s, actor, code=till.payload, voucher_id=voucher, amount_cents=100, idempotency_key="p-4",
            settings=till.settings, today=till.settings.today,
        )
    forget()
    assert till.redeem("p-5", voucher_id=voucher, amount_cents=100).json["balance_after_cents"] == 14_600
    assert till.redeem("p-6", voucher_id=voucher, amount_cents=100).json["balance_after_cents"] == 14_500
    assert counts(db) == (5, 1)
    with db.read() as s:
        assert verify(s).ok

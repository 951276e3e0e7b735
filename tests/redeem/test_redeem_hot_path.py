"""The redemption's hot path: few statements, and a twin that slips past the
key look-up is still charged once."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from pasdienst.access.models import User
from pasdienst.access.accounts import actor_for_email
from pasdienst.ledger import verify
from pasdienst.redeem import redemptions
from pasdienst.redeem.models import Redemption
from tests.factories import TODAY

pytestmark = pytest.mark.money


def test_a_redemption_takes_at_most_six_statements(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is no round trip
            statements.append(statement)

    with db.read() as s:
        email = s.execute(select(User.email).where(User.merchant_id == till.merchant_id)).scalar_one()
        actor = actor_for_email(s, email)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.transaction() as s:
            result = redemptions.redeem(
                s, actor, code=till.payload, voucher_id=voucher, amount_cents=1250, idempotency_key="k-count",
                settings=till.settings, today=TODAY,
            )
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert result.balance_after_cents == 13_750
    # merchant + stored answer + voucher + bindings + pass (+ lock), debit, credit, postings, transfer, redemption
    assert len(statements) <= 6, statements


def test_a_twin_that_committed_after_the_key_look_up_gets_request_in_progress_and_charges_once(db, till, monkeypatch):
    voucher = till.vouchers[("budget", "sport_culture")]
    first = till.redeem("twin", voucher_id=voucher, amount_cents=1250)
    assert first.status_code == 201

    real = redemptions._context

    def stale_snapshot(*args, **kwargs):
        # What a look-up whose snapshot predates the twin's commit sees: no stored answer.
        return SimpleNamespace(**{**real(*args, **kwargs)._mapping, "stored_id": None})

    monkeypatch.setattr(redemptions, "_context", stale_snapshot)
    twin = till.redeem("twin", voucher_id=voucher, amount_cents=1250)
    assert twin.status_code == 409 and twin.json["code"] == "request_in_progress"

    monkeypatch.setattr(redemptions, "_context", real)
    retry = till.redeem("twin", voucher_id=voucher, amount_cents=1250)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json["receipt_no"] == first.json["receipt_no"] and retry.json["balance_after_cents"] == 13_750
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Redemption)).scalar_one() == 1
        report = verify(s)
    assert report.ok, [str(p) for p in report.problems]


def _tampered(payload: str) -> str:
    return payload[:-1] + ("A" if payload[-1] != "A" else "B")


def _typo(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


REFUSED = [
    ("a tampered QR", lambda t: _tampered(t.payload), 422, "invalid_code"),
    ("a mistyped code", lambda t: _typo(t.code), 422, "invalid_code"),
    ("another child's pass", lambda t: t.other_payload, 422, "invalid_code"),
    ("another child's typed code", lambda t: t.other_code, 422, "invalid_code"),
    ("no pass at all", lambda t: "https://pas.example.nl/hallo", 422, "invalid_code"),
]


@pytest.mark.parametrize("what, code_of, status, problem", REFUSED, ids=[r[0] for r in REFUSED])
def test_a_redemption_with_a_code_that_does_not_name_the_vouchers_pass_is_refused_and_takes_nothing(
    db, till, what, code_of, status, problem
):
    voucher = till.vouchers[("budget", "sport_culture")]
    response = till.redeem(voucher_id=voucher, amount_cents=1250, code=code_of(till))
    assert (response.status_code, response.json["code"]) == (status, problem), what
    assert till.redeem("k2", voucher_id=voucher, amount_cents=1, code=till.payload).json["balance_after_cents"] == 14_999
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Redemption)).scalar_one() == 1


def test_a_typed_code_redeems_like_the_qr_forgiving_case_and_hyphens(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    response = till.redeem(voucher_id=voucher, amount_cents=1250, code=till.code.replace("-", " ").lower())
    assert response.status_code == 201 and response.json["balance_after_cents"] == 13_750


def test_the_old_code_of_a_reissued_pass_redeems_nothing(db, till):
    from pasdienst.wallet.services import reissue_pass, resolve_pass

    with db.transaction() as s:
        old = resolve_pass(s, till.payload, settings=till.settings, today=TODAY)
        reissue_pass(s, str(old.id), settings=till.settings, today=TODAY)
    voucher = till.vouchers[("budget", "sport_culture")]
    for code in (till.payload, till.code):
        response = till.redeem(f"k-{code}", voucher_id=voucher, amount_cents=1250, code=code)
        assert (response.status_code, response.json["code"], response.json["reason"]) == (409, "pass_blocked", "replaced")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Redemption)).scalar_one() == 0


def test_an_expired_pass_redeems_nothing(db, till):
    from dataclasses import replace
    from datetime import date

    from pasdienst.web.app import create_app

    app = create_app(replace(till.settings, today=date(2028, 1, 1)), db=db)
    response = app.test_client().post(
        "/api/v1/redemptions",
        json={"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 100},
        headers={**till.headers, "Idempotency-Key": "late"},
    )
    assert (response.status_code, response.json["code"]) == (409, "pass_expired")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Redemption)).scalar_one() == 0

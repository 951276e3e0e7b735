"""The till's API: scan, redeem, void, today's list; every refusal coded."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from pasdienst.ledger import verify
from pasdienst.redeem.models import Redemption, Refusal
from pasdienst.wallet.services import block_pass
from pasdienst.web.app import create_app
from tests.factories import TODAY, bearer, login_as, make_merchant, make_token, make_user

from .conftest import merchant_client

pytestmark = pytest.mark.money


def redemption_count(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Redemption)).scalar_one()


# -- scan -----------------------------------------------------------------------

def test_a_scan_shows_only_first_name_age_and_what_may_be_spent_here(till):
    response = till.post("/api/v1/scan", json={"code": till.payload})
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"pass_id", "first_name", "age", "vouchers"}
    assert body["first_name"] == "Sanne" and body["age"] == 11
    # the pass's one public name: the number on the letter and in the mail-merge export
    assert body["pass_id"] == till.number and body["pass_id"].startswith("KP-2027-")
    kinds = sorted((v["kind"], v["category"]) for v in body["vouchers"])
    # a sports club: the sport budget and the swimming card; not school, not clothing
    assert kinds == [("budget", "sport_culture"), ("punchcard", "sport_culture")]
    card = next(v for v in body["vouchers"] if v["kind"] == "punchcard")
    assert card["strips_left"] == 10 and card["balance_cents"] == 4500
    # named as the scheme names it, so the receipt can say what was charged
    assert card["code"] == "zwemmen" and next(v for v in body["vouchers"] if v["kind"] == "budget")["code"] is None
    text = response.get_data(as_text=True)
    for secret in ("111222333", "income", "bsn", "T-1", "birth"):
        assert secret not in text


def test_a_typed_code_scans_like_the_qr_forgiving_case_and_hyphens(till):
    typed = till.code.replace("-", "").lower()
    response = till.post("/api/v1/scan", json={"code": typed})
    assert response.status_code == 200 and response.json["first_name"] == "Sanne"


def test_a_tampered_qr_is_invalid_and_the_refusal_is_logged_without_the_code(db, till):
    tampered = till.payload[:-1] + ("A" if till.payload[-1] != "A" else "B")
    response = till.post("/api/v1/scan", json={"code": tampered})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json" and response.json["code"] == "invalid_code"
    with db.read() as s:
        refusals = s.execute(select(Refusal)).scalars().all()
    assert [(r.action, r.reason, r.merchant_id) for r in refusals] == [("scan", "invalid_code", till.merchant_id)]
    assert all(tampered not in str(vars(r)) for r in refusals)


def test_a_blocked_pass_is_refused(db, till):
    from pasdienst.wallet.services import resolve_pass

    with db.transaction() as s:
        p = resolve_pass(s, till.payload, settings=till.settings, today=TODAY)
        block_pass(s, str(p.id), reason="lost, reported by parent")
    assert till.post("/api/v1/scan", json={"code": till.payload}).json["code"] == "pass_blocked"
    assert till.redeem(voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=100).status_code == 409


def test_an_expired_pass_is_refused(db, till):
    app = create_app(replace(till.settings, today=date(2028, 1, 1)), db=db)
    response = app.test_client().post("/api/v1/scan", json={"code": till.payload}, headers=till.headers)
    assert response.status_code == 409 and response.json["code"] == "pass_expired"


def test_a_pass_of_another_municipality_is_not_accepted_here(db, till):
    other = make_merchant(db, "elders", name="Elders Sport", categories=("sport_culture",))
    headers = bearer(make_token(db, make_user(db, "merchant", municipality="elders", merchant_id=other)))
    response = till.client.post("/api/v1/scan", json={"code": till.payload}, headers=headers)
    assert response.status_code == 403 and response.json["code"] == "not_accepted_here"


# -- redeem ---------------------------------------------------------------------

def test_a_redemption_takes_exactly_the_amount_and_gives_a_receipt(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    response = till.redeem(voucher_id=voucher, amount_cents=1250)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["amount_cents"] == 1250 and body["balance_after_cents"] == 13750 and body["strips_left"] is None
    assert len(body["receipt_no"]) == 9 and response.headers["Idempotent-Replayed"] == "false"
    with db.read() as s:
        assert verify(s).ok


def test_a_retry_with_the_same_key_returns_the_same_receipt_and_charges_once(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    first = till.redeem("same", voucher_id=voucher, amount_cents=1250)
    again = till.redeem("same", voucher_id=voucher, amount_cents=1250)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert redemption_count(db) == 1
    scan = till.post("/api/v1/scan", json={"code": till.payload}).json
    assert next(v for v in scan["vouchers"] if v["id"] == voucher)["balance_cents"] == 13750


def test_the_same_key_with_another_body_is_refused(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    till.redeem("same", voucher_id=voucher, amount_cents=1250)
    response = till.redeem("same", voucher_id=voucher, amount_cents=1300)
    assert response.status_code == 422 and response.json["code"] == "idempotency_key_reused"
    assert redemption_count(db) == 1


def test_a_twin_request_still_in_flight_is_told_to_retry(db, till):
    from pasdienst.redeem import redemptions

    voucher = till.vouchers[("budget", "sport_culture")]
    redemptions._in_flight.add((till.merchant_id, "busy"))
    try:
        response = till.redeem("busy", voucher_id=voucher, amount_cents=100)
    finally:
        redemptions._in_flight.discard((till.merchant_id, "busy"))
    assert response.status_code == 409 and response.json["code"] == "request_in_progress"
    assert redemption_count(db) == 0


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite writers queue behind BEGIN IMMEDIATE instead
def test_a_twin_in_flight_on_another_worker_is_told_to_retry_on_postgresql(db, till):
    from sqlalchemy import text

    from tests.redeem.conftest import hold_the_keys_lock

    voucher = till.vouchers[("budget", "sport_culture")]
    with db.engine.connect() as other_worker:
        hold_the_keys_lock(other_worker, till.merchant_id, "busy")
        response = till.redeem("busy", voucher_id=voucher, amount_cents=100)
        other_worker.execute(text("ROLLBACK"))
    assert response.status_code == 409 and response.json["code"] == "request_in_progress"


def test_a_redemption_needs_an_idempotency_key(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    response = till.post("/api/v1/redemptions", json={"code": till.payload, "voucher_id": voucher, "amount_cents": 100})
    assert response.status_code == 422 and response.json["code"] == "validation_error"
    assert "Idempotency-Key" in response.json["errors"]
    assert redemption_count(db) == 0


def test_more_than_the_balance_is_refused_and_nothing_is_taken(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    response = till.redeem(voucher_id=voucher, amount_cents=15001)
    assert response.status_code == 409 and response.json["code"] == "insufficient_balance"
    assert redemption_count(db) == 0
    assert till.redeem("k2", voucher_id=voucher, amount_cents=15000).json["balance_after_cents"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": -500}, "amount_cents"),
        ({"amount_cents": "12.50"}, "amount_cents"),
        ({"amount_cents": 12.5}, "amount_cents"),
        ({"amount_cents": 100, "strips": 1}, "amount_cents"),
        ({}, "amount_cents"),
        ({"amount_cents": 100, "voucher_id": "x"}, "voucher_id"),
    ],
)
def test_malformed_amounts_are_validation_errors_per_field(db, till, body, field):
    body = {"voucher_id": till.vouchers[("budget", "sport_culture")], **body}
    response = till.redeem(**body)
    assert response.status_code == 422 and response.json["code"] == "validation_error"
    assert field in response.json["errors"]
    assert redemption_count(db) == 0


def test_a_voucher_of_another_category_is_not_accepted_here(db, till):
    response = till.redeem(voucher_id=till.vouchers[("cheque", "clothing")], amount_cents=1000)
    assert response.status_code == 403 and response.json["code"] == "not_accepted_here"
    assert redemption_count(db) == 0


def test_a_voucher_must_be_on_the_scanned_pass(db, till):
    response = till.redeem(code=till.other_payload, voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=100)
    assert response.status_code == 422 and response.json["code"] == "invalid_code"
    assert redemption_count(db) == 0


def test_a_voucher_that_does_not_exist_is_a_validation_error_of_its_field(db, till):
    response = till.redeem(voucher_id=10**9, amount_cents=100)
    assert response.status_code == 422 and response.json["code"] == "validation_error"
    assert "voucher_id" in response.json["errors"]


def test_a_punch_card_takes_strips(db, till):
    card = till.vouchers[("punchcard", "sport_culture")]
    response = till.redeem(voucher_id=card, strips=2)
    assert response.status_code == 201
    assert response.json["amount_cents"] == 900 and response.json["strips_left"] == 8
    assert till.redeem("k2", voucher_id=card, amount_cents=450).json["code"] == "validation_error"
    assert till.redeem("k3", voucher_id=card, strips=9).json["code"] == "insufficient_balance"


def test_a_budget_takes_an_amount_not_strips(db, till):
    response = till.redeem(voucher_id=till.vouchers[("budget", "sport_culture")], strips=1)
    assert response.status_code == 422


def test_a_bound_voucher_is_taken_only_by_the_merchants_it_is_bound_to(db, till):
    from pasdienst.municipalities.services import get_municipality
    from pasdienst.merchants.models import VoucherBinding


    card = till.vouchers[("punchcard", "sport_culture")]
    pool = make_merchant(db, "testdorp", name="Zwembad De Welle", categories=("sport_culture",))
    with db.transaction() as s:
        m = get_municipality(s, "testdorp")
        s.add(VoucherBinding(municipality_id=m.id, voucher_code="zwemmen", merchant_id=pool))
    assert till.redeem(voucher_id=card, strips=1).json["code"] == "not_accepted_here"
    scan = till.post("/api/v1/scan", json={"code": till.payload}).json
    assert [v["kind"] for v in scan["vouchers"]] == ["budget"]


# -- void and the day list -------------------------------------------------------

def test_a_redemption_can_be_voided_the_same_day_and_the_money_returns(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    made = till.redeem(voucher_id=voucher, amount_cents=1250).json
    response = till.post(f"/api/v1/redemptions/{made['id']}/void")
    assert response.status_code == 200 and response.json["receipt_no"] == made["receipt_no"]
    # the state after the void, for the receipt (not the balance the payment left)
    assert (response.json["balance_after_cents"], response.json["strips_left"]) == (15000, None)
    assert till.post(f"/api/v1/redemptions/{made['id']}/void").status_code == 200  # a retry is harmless
    scan = till.post("/api/v1/scan", json={"code": till.payload}).json
    assert next(v for v in scan["vouchers"] if v["id"] == voucher)["balance_cents"] == 15000
    day = till.get("/api/v1/redemptions?date=today").json
    assert day["total_cents"] == 0 and day["items"][0]["voided"] is True and day["items"][0]["can_void"] is False
    with db.read() as s:
        assert verify(s).ok


def test_a_voided_punch_card_payment_says_how_many_strips_are_back_on_the_pass(db, till):
    card = till.vouchers[("punchcard", "sport_culture")]
    till.redeem("one", voucher_id=card, strips=1)
    made = till.redeem("two", voucher_id=card, strips=2).json
    assert made["strips_left"] == 7
    voided = till.post(f"/api/v1/redemptions/{made['id']}/void").json
    assert (voided["strips_left"], voided["balance_after_cents"]) == (9, 9 * 450)


def test_a_void_after_a_reissue_says_what_the_childs_new_pass_holds(db, till):
    from pasdienst.wallet.services import reissue_pass, resolve_pass

    made = till.redeem(voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=1250).json
    with db.transaction() as s:
        old = resolve_pass(s, till.payload, settings=till.settings, today=TODAY)
        reissue_pass(s, old.pass_number, settings=till.settings, today=TODAY)
    voided = till.post(f"/api/v1/redemptions/{made['id']}/void").json
    assert voided["balance_after_cents"] == 15000  # carried over to the new pass with the rest


def test_only_the_merchant_who_redeemed_can_void(db, till):
    made = till.redeem(voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=1250).json
    other = merchant_client(db, till)
    response = till.client.post(f"/api/v1/redemptions/{made['id']}/void", headers=other)
    assert response.status_code == 404 and response.json["code"] == "not_found"


def test_a_redemption_of_another_day_cannot_be_voided(db, till):
    made = till.redeem(voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=1250).json
    tomorrow = create_app(replace(till.settings, today=date(2027, 3, 16)), db=db)
    response = tomorrow.test_client().post(f"/api/v1/redemptions/{made['id']}/void", headers=till.headers)
    assert response.status_code == 409 and response.json["code"] == "void_window_closed"


def test_a_redemption_in_a_settlement_batch_cannot_be_voided(db, till):
    from pasdienst.settlement.models import SettlementItem

    made = till.redeem(voucher_id=till.vouchers[("budget", "sport_culture")], amount_cents=1250).json
    with db.transaction() as s:
        # A batch's claim (pasdienst/settlement/models.py); settlement's own tests make real batches.
        s.add(SettlementItem(redemption_id=made["id"], batch_id=1))
    response = till.post(f"/api/v1/redemptions/{made['id']}/void")
    assert response.status_code == 409 and response.json["code"] == "void_window_closed"


def test_the_day_list_shows_todays_redemptions_and_their_total(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    till.redeem("a", voucher_id=voucher, amount_cents=1250)
    till.redeem("b", voucher_id=till.vouchers[("punchcard", "sport_culture")], strips=1)
    day = till.get("/api/v1/redemptions").json
    assert day["date"] == "2027-03-15" and day["total_cents"] == 1700
    assert [(i["kind"], i["amount_cents"], i["can_void"]) for i in day["items"]] == [("punchcard", 450, True), ("budget", 1250, True)]
    assert till.get("/api/v1/redemptions?date=2027-03-14").json["items"] == []
    assert till.get("/api/v1/redemptions?date=yesterday").status_code == 422


# -- abuse -----------------------------------------------------------------------

def test_too_many_wrong_typed_codes_lock_the_till_login_out_of_code_lookups(db, till):
    for n in range(10):
        wrong = f"ABCD-EFGH-JK{n:02d}"[:14]
        assert till.post("/api/v1/scan", json={"code": wrong}).json["code"] == "invalid_code"
    response = till.post("/api/v1/scan", json={"code": till.code})
    assert response.status_code == 429 and response.json["code"] == "rate_limited"
    assert response.json["limit"] == "login"
    assert 590 <= int(response.headers["Retry-After"]) <= 600  # the ten-minute window
    # the QR still works: the limit is on guessing codes
    assert till.post("/api/v1/scan", json={"code": till.payload}).status_code == 200


def test_a_session_api_call_without_the_csrf_header_is_refused(db, till):

    client = till.app.test_client()
    login_as(client, "merchant", municipality="testdorp", merchant_id=till.merchant_id)
    response = client.post("/api/v1/scan", json={"code": till.payload})
    assert response.status_code == 403
    assert redemption_count(db) == 0


def test_only_merchants_use_the_till_api(db, till):

    admin = make_user(db, "admin", municipality="testdorp")

    response = till.client.post("/api/v1/scan", json={"code": till.payload}, headers=bearer(make_token(db, admin)))
    assert response.status_code == 403 and response.json["code"] == "forbidden"
    assert till.client.post("/api/v1/scan", json={"code": till.payload}).status_code == 401

"""Two tills, one pass: the balance check and the debit are one guarded update."""
from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from pasdienst.ledger import verify

pytestmark = pytest.mark.money


def test_48_tills_redeeming_ten_euros_at_once_on_150_get_exactly_15_successes(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    start = threading.Barrier(48)
    outcomes: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def till_thread() -> None:
        client = till.app.test_client()
        start.wait()
        response = client.post(
            "/api/v1/redemptions",
            json={"code": till.payload, "voucher_id": voucher, "amount_cents": 1000},
            headers={**till.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        body = response.get_json(silent=True) or {}
        with lock:
            outcomes.append((response.status_code, body.get("code")))

    threads = [threading.Thread(target=till_thread) for _ in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Counter(outcomes) == {(201, None): 15, (409, "insufficient_balance"): 33}
    scan = till.post("/api/v1/scan", json={"code": till.payload}).json
    assert next(v for v in scan["vouchers"] if v["id"] == voucher)["balance_cents"] == 0
    with db.read() as s:
        report = verify(s)
    assert report.ok, [str(p) for p in report.problems]


def test_two_tills_voiding_one_redemption_at_once_both_hear_it_is_voided_and_it_returns_once(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    for attempt in range(10):
        made = till.redeem(f"void-race-{attempt}", voucher_id=voucher, amount_cents=500).json
        start = threading.Barrier(2)
        answers: list[tuple[int, dict]] = []

        def void() -> None:
            client = till.app.test_client()
            start.wait()
            response = client.post(f"/api/v1/redemptions/{made['id']}/void", headers=till.headers)
            answers.append((response.status_code, response.get_json(silent=True) or {}))

        threads = [threading.Thread(target=void) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [status for status, _ in answers] == [200, 200], answers
        assert answers[0][1]["voided_at"] == answers[1][1]["voided_at"]
    with db.read() as s:
        from pasdienst import ledger
        from pasdienst.wallet.models import Voucher

        account = s.get(Voucher, voucher).account_id
        assert ledger.balance(s, account) == 15000  # every void returned the money exactly once
        report = verify(s)
    assert report.ok, [str(p) for p in report.problems]

"""Concurrent debits of one account: exactly what the balance covers succeeds."""
from __future__ import annotations

import threading

import pytest

from pasdienst import ledger
from pasdienst.ledger import verify

from .helpers import funded

pytestmark = pytest.mark.money


def test_twenty_threads_taking_ten_euros_from_150_leave_exactly_zero(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 15000)
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def take_ten(n: int) -> None:
        start.wait()
        try:
            with db.transaction() as s:
                ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1000, reference=f"t{n}")
            outcome = "ok"
        except ledger.InsufficientFunds:
            outcome = "insufficient"
        except Exception as exc:  # any other failure is a bug: record it
            outcome = f"error: {exc!r}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=take_ten, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["insufficient"] * 5 + ["ok"] * 15
    with db.read() as s:
        assert ledger.balance(s, wallet) == 0
        assert ledger.balance(s, shop) == 15000
        assert verify(s).ok


def test_concurrent_retries_with_one_idempotency_key_move_money_once(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 15000)
    start = threading.Barrier(8)
    ids, errors = [], []

    def retry() -> None:
        start.wait()
        for _attempt in range(5):
            try:
                with db.transaction() as s:
                    posted = ledger.transfer(
                        s, kind="redeem", source=wallet, destination=shop, amount=1000, idempotency_key="same"
                    )
                ids.append(posted.id)
                return
            except ledger.IdempotencyKeyReused:
                continue  # lost the race to a twin: read its result on the next attempt
            except Exception as exc:
                errors.append(repr(exc))
                return

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 8 and len(set(ids)) == 1
    with db.read() as s:
        assert ledger.balance(s, wallet) == 14000

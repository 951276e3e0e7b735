"""The ledger's rules, each proven against the database itself."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pasdienst import ledger
from pasdienst.db import insert_tuples
from pasdienst.ledger import Leg, NewTransfer, Posting, verify

from .helpers import accounts, funded

pytestmark = pytest.mark.money


def test_a_transfer_moves_money_and_keeps_balances(db):
    with db.transaction() as s:
        world, wallet, shop = funded(s, 15000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1250, reference="r1")
        assert posted.amount == 1250 and not posted.replayed
    with db.read() as s:
        assert ledger.balance(s, wallet) == 13750
        assert ledger.balance(s, shop) == 1250
        assert ledger.balance(s, world) == -15000
        assert verify(s).ok


@pytest.mark.parametrize("amount", [0, -5, 12.5, "1250", True, None])
def test_amounts_must_be_positive_whole_cents(db, amount):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
    with pytest.raises(ledger.InvalidTransfer), db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=amount)
    with db.read() as s:
        assert ledger.balance(s, wallet) == 1000


def test_postings_must_sum_to_zero(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
    with pytest.raises(ledger.InvalidTransfer, match="sum to zero"), db.transaction() as s:
        ledger.post(s, NewTransfer("redeem", (Leg(wallet, -500), Leg(shop, 400))))


def test_a_transfer_needs_two_postings(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000)
    with pytest.raises(ledger.InvalidTransfer, match="two postings"), db.transaction() as s:
        ledger.post(s, NewTransfer("redeem", (Leg(wallet, 0),)))


def test_money_cannot_move_from_an_account_to_itself(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000)
    with pytest.raises(ledger.InvalidTransfer, match="itself"), db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=wallet, amount=100)


def test_unknown_accounts_are_refused_and_nothing_is_written(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000)
    with pytest.raises(ledger.UnknownAccount), db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=999_999, amount=100)
    with db.read() as s:
        assert ledger.balance(s, wallet) == 1000
        assert verify(s).transfers == 1


def test_a_transfer_cannot_cross_ledgers(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000, ledger_name="a")
        (other,) = accounts(s, ("shop", True), ledger_name="b")
    with pytest.raises(ledger.InvalidTransfer, match="cross ledgers"), db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=other, amount=100)


def test_a_non_negative_account_cannot_go_below_zero(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
    with pytest.raises(ledger.InsufficientFunds) as refused, db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1001)
    assert refused.value.code == "insufficient_balance"
    assert refused.value.balance == 1000 and refused.value.requested == 1001
    with db.read() as s:
        assert ledger.balance(s, wallet) == 1000


def test_the_database_refuses_a_negative_balance_even_past_the_service(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000)
    with pytest.raises(DBAPIError), db.transaction() as s:
        s.execute(text("UPDATE ledger_account SET balance = -1 WHERE id = :id"), {"id": wallet})


@pytest.mark.parametrize("table", ["ledger_posting", "ledger_transfer"])
def test_postings_and_transfers_are_append_only(db, table):
    with db.transaction() as s:
        funded(s, 1000)
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text(f"UPDATE {table} SET amount = amount + 1"))
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text(f"DELETE FROM {table}"))


def test_the_database_refuses_an_unbalanced_transfer_written_by_hand(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
    tid = uuid.uuid4()
    hex_id = tid.hex if db.dialect == "sqlite" else str(tid)
    with pytest.raises(DBAPIError, match="does not balance"), db.transaction() as s:
        s.execute(text("INSERT INTO ledger_posting (transfer_id, account_id, amount) VALUES (:t, :a, -500)"), {"t": hex_id, "a": wallet})
        s.execute(text("INSERT INTO ledger_posting (transfer_id, account_id, amount) VALUES (:t, :a, 400)"), {"t": hex_id, "a": shop})
        s.execute(
            text("INSERT INTO ledger_transfer (id, ledger, kind, amount, fingerprint, created_at) VALUES (:t, 't', 'x', 400, 'f', CURRENT_TIMESTAMP)"),
            {"t": hex_id},
        )


def test_a_written_transfer_takes_no_more_postings(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=100)
    hex_id = posted.id.hex if db.dialect == "sqlite" else str(posted.id)
    with pytest.raises(DBAPIError, match="sealed"), db.transaction() as s:
        s.execute(text("INSERT INTO ledger_posting (transfer_id, account_id, amount) VALUES (:t, :a, 5)"), {"t": hex_id, "a": shop})


def test_a_reversal_negates_the_original_and_points_at_it(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=300)
        reversal = ledger.reverse(s, posted.id, reference="void")
    assert reversal.kind == "redeem" and reversal.amount == 300
    with db.read() as s:
        assert ledger.balance(s, wallet) == 1000 and ledger.balance(s, shop) == 0
        assert ledger.kind_totals(s, "t") == {"topup": 1000, "redeem": 0}
        report = verify(s)
        assert report.ok and report.reversals == 1


def test_a_transfer_can_be_reversed_only_once(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=300)
        ledger.reverse(s, posted.id)
    with pytest.raises(ledger.AlreadyReversed), db.transaction() as s:
        ledger.reverse(s, posted.id)
    with db.read() as s:
        assert ledger.balance(s, wallet) == 1000


def test_a_reversal_cannot_be_reversed(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=300)
        reversal = ledger.reverse(s, posted.id)
    with pytest.raises(ledger.InvalidTransfer, match="reversal cannot"), db.transaction() as s:
        ledger.reverse(s, reversal.id)


def test_a_reversal_needs_the_money_to_still_be_there(db):
    with db.transaction() as s:
        world, wallet, shop = funded(s, 1000)
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1000)
        topup = ledger.transfer(s, kind="topup", source=world, destination=wallet, amount=500)
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=500)
    with pytest.raises(ledger.InsufficientFunds), db.transaction() as s:
        ledger.reverse(s, topup.id)


def test_a_retry_with_the_same_idempotency_key_moves_money_once(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
    results = []
    for _ in range(3):
        with db.transaction() as s:
            results.append(
                ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=250, idempotency_key="till-1:abc")
            )
    assert [r.replayed for r in results] == [False, True, True]
    assert len({r.id for r in results}) == 1
    with db.read() as s:
        assert ledger.balance(s, wallet) == 750


def test_a_reused_idempotency_key_with_another_body_is_refused(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=250, idempotency_key="k")
    with pytest.raises(ledger.IdempotencyKeyReused) as refused, db.transaction() as s:
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=300, idempotency_key="k")
    assert refused.value.code == "idempotency_key_reused"
    with db.read() as s:
        assert ledger.balance(s, wallet) == 750


def test_a_batch_is_all_or_nothing(db):
    with db.transaction() as s:
        world, wallet, shop = funded(s, 1000)
    batch = [NewTransfer.move("redeem", wallet, shop, 600), NewTransfer.move("redeem", wallet, shop, 600)]
    with pytest.raises(ledger.InsufficientFunds), db.transaction() as s:
        ledger.post_many(s, batch)
    with db.read() as s:
        assert ledger.balance(s, wallet) == 1000 and verify(s).transfers == 1


def test_a_batch_checks_an_account_moved_both_ways_in_order(db):
    # Net the batch would end at 0, but the first debit comes before the
    # credit that would cover it: posted one by one it is refused.
    with db.transaction() as s:
        world, wallet, shop = funded(s, 100)
    batch = [NewTransfer.move("redeem", wallet, shop, 200), NewTransfer.move("topup", world, wallet, 100)]
    with pytest.raises(ledger.InsufficientFunds), db.transaction() as s:
        ledger.post_many(s, batch)
    ok_batch = [NewTransfer.move("topup", world, wallet, 100), NewTransfer.move("redeem", wallet, shop, 200)]
    with db.transaction() as s:
        results = ledger.post_many(s, ok_batch)
    assert [r.amount for r in results] == [100, 200]
    with db.read() as s:
        assert ledger.balance(s, wallet) == 0 and verify(s).ok


def test_a_batch_replays_transfers_it_already_wrote(db):
    with db.transaction() as s:
        world, wallet, shop = funded(s, 0)
    batch = [NewTransfer.move("topup", world, wallet, 100 + i, idempotency_key=f"b{i}") for i in range(5)]
    with db.transaction() as s:
        first = ledger.post_many(s, batch[:3])
    with db.transaction() as s:
        second = ledger.post_many(s, batch)
    assert [r.replayed for r in second] == [True, True, True, False, False]
    assert [r.id for r in second[:3]] == [r.id for r in first]
    with db.read() as s:
        assert ledger.balance(s, wallet) == sum(100 + i for i in range(5))


def test_a_transfer_reports_the_balances_it_left(db):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=250)
    assert posted.balances == {wallet: 750, shop: 250}


def test_a_large_batch_takes_the_bulk_path_and_keeps_every_rule(db):
    # 120 transfers: above the size at which rows go to the driver directly
    # (COPY on PostgreSQL), so the statement-level checks are exercised.
    with db.transaction() as s:
        world, wallet, shop = funded(s, 0)
    with db.transaction() as s:
        results = ledger.post_many(s, [NewTransfer.move("topup", world, wallet, 100 + i, reference=f"r{i}") for i in range(120)])
    assert len({r.id for r in results}) == 120
    with db.read() as s:
        assert ledger.balance(s, wallet) == sum(100 + i for i in range(120))
        report = verify(s)
        assert report.ok and report.transfers == 120


def test_the_database_refuses_postings_for_a_written_transfer_even_in_bulk(db):
    with db.transaction() as s:
        world, wallet, shop = funded(s, 1000)
        old = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=100)
    # Written the way the ledger writes a large batch (COPY on PostgreSQL):
    # the seal is the database's, whoever writes the rows.
    with pytest.raises(DBAPIError, match="sealed"), db.transaction() as s:
        insert_tuples(
            s, [(Posting.__table__, ("transfer_id", "account_id", "amount"), [(old.id, shop, 5), (old.id, wallet, -5)])],
            what="bulk insert of ledger postings",
        )

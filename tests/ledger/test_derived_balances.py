"""Accounts that keep no cached balance (a merchant's payable).

Many tills credit one merchant at once; with a cached balance they would all
update, and on PostgreSQL queue on, that one row. Such an account's balance
is the sum of its postings instead.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from pasdienst import ledger
from pasdienst.ledger import Account, NewTransfer, verify
from pasdienst.settlement import checks as _settlement_checks  # noqa: F401 - registers merchant_payables

from .helpers import funded

pytestmark = pytest.mark.money


def payable(session, name: str = "payable") -> int:
    return ledger.open_account(session, key=f"t:{name}", kind="merchant_payable", ledger="t", non_negative=False, balance_cached=False)


def test_a_derived_balance_is_the_sum_of_postings_and_the_row_stays_untouched(db):
    with db.transaction() as s:
        world, wallet, _ = funded(s, 5000)
        shop = payable(s)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=1250)
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=250)
        # Only the cached side reports a balance after the transfer.
        assert posted.balances == {wallet: 3750}
    with db.read() as s:
        assert ledger.balance(s, shop) == 1500
        assert ledger.balances(s, [shop, wallet, world]) == {shop: 1500, wallet: 3500, world: -5000}
        assert s.get(Account, shop).balance == 0
        assert ledger.accounts_by_kind(s, "t")["merchant_payable"] == 1500
        assert verify(s).ok


def test_a_derived_account_cannot_be_guarded(db):
    with pytest.raises(ledger.InvalidTransfer, match="cached balance"), db.transaction() as s:
        ledger.open_account(s, key="t:bad", kind="merchant_payable", ledger="t", non_negative=True, balance_cached=False)


def test_the_database_refuses_a_guarded_account_without_cached_balance(db):
    with db.transaction() as s:
        shop = payable(s)
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(update(Account).where(Account.id == shop).values(non_negative=True))


def test_debits_from_a_derived_account_and_reversals_work(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 5000)
        shop = payable(s)
        clearing = ledger.open_account(s, key="t:clearing", kind="clearing", ledger="t", non_negative=True)
        paid = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=2000)
        ledger.transfer(s, kind="settle", source=shop, destination=clearing, amount=1500)
        ledger.reverse(s, paid.id)
    with db.read() as s:
        # Unguarded: the reversal may take the payable below zero; settlement
        # has its own rule for that (tests/settlement), and verify reports it.
        assert ledger.balance(s, shop) == -1500
        assert ledger.balance(s, wallet) == 5000
        assert [(p.check, p.ids) for p in verify(s).problems] == [("merchant_payables", ["t:payable (-1500)"])]


def test_batches_credit_derived_accounts_without_a_cached_balance(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 200_000)
        shop = payable(s)
        # 60 transfers: past the size from which batches go to the driver directly.
        ledger.post_many(s, [NewTransfer.move("redeem", wallet, shop, 100 * (i + 1)) for i in range(60)])
    with db.read() as s:
        spent = sum(100 * (i + 1) for i in range(60))
        assert ledger.balance(s, shop) == spent
        assert ledger.balance(s, wallet) == 200_000 - spent
        assert s.get(Account, shop).balance == 0
        assert verify(s).ok


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite cannot drop a CHECK constraint in place
def test_verify_notices_a_cached_value_on_a_derived_account(db):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000)
        shop = payable(s)
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=100)
    with db.transaction() as s:
        # Behind the ledger's back, as a broken tool might: the CHECK
        # constraint is dropped only for this test.
        s.execute(text("ALTER TABLE ledger_account DROP CONSTRAINT ck_ledger_account_derived_balance_unused"))
        s.execute(update(Account).where(Account.id == shop).values(balance=100))
    try:
        with db.read() as s:
            report = verify(s)
    finally:
        # The schema is the worker's for the whole session: put the constraint back (the migrations
        # test goes down through it later).
        with db.transaction() as s:
            s.execute(update(Account).where(Account.id == shop).values(balance=0))
            s.execute(text("ALTER TABLE ledger_account ADD CONSTRAINT ck_ledger_account_derived_balance_unused "
                           "CHECK (balance_cached = true OR balance = 0)"))
    assert [p.check for p in report.problems] == ["balances"]
    assert "derived" in report.problems[0].message


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_credits_to_one_derived_account_do_not_wait_for_each_other(db):
    """Two tills of one merchant: the second commits while the first is still open."""
    with db.transaction() as s:
        world, wallet_a, _ = funded(s, 1000)
        wallet_b = ledger.open_account(s, key="t:wallet-b", kind="wallet", ledger="t", non_negative=True)
        ledger.transfer(s, kind="topup", source=world, destination=wallet_b, amount=1000)
        shop = payable(s)
    first_open = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first_till() -> None:
        try:
            with db.transaction() as s:
                ledger.transfer(s, kind="redeem", source=wallet_a, destination=shop, amount=300)
                first_open.set()
                release.wait(10)
        except BaseException as exc:  # reported below
            errors.append(exc)
            first_open.set()

    t = threading.Thread(target=first_till)
    t.start()
    try:
        assert first_open.wait(10)
        with db.transaction() as s:
            # Would wait for the first till's COMMIT if the payable's row were updated.
            s.execute(text("SET LOCAL lock_timeout = '1s'"))
            ledger.transfer(s, kind="redeem", source=wallet_b, destination=shop, amount=200)
    finally:
        release.set()
        t.join()
    assert not errors
    with db.read() as s:
        assert ledger.balance(s, shop) == 500
        assert verify(s).ok

"""``pasdienst ledger verify`` proves that what settlement paid is what was redeemed."""
from __future__ import annotations

import pytest
from sqlalchemy import text, update

from pasdienst import books, ledger
from pasdienst.redeem.models import Redemption

from .conftest import SettlementWorld, a_month, approve, create, export, pay

pytestmark = pytest.mark.money


def checks(world: SettlementWorld) -> set[str]:
    return {problem.split(":")[0] for problem in world.verify()}


def test_a_whole_month_verifies_and_clearing_is_empty_once_paid(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    assert world.verify() == []
    pay(world, batch.id)
    assert world.verify() == []


def test_a_line_that_differs_from_its_redemptions_is_caught(world, cli):
    a_month(world)
    batch = create(world)
    with world.db.transaction() as s:
        s.execute(text(f"UPDATE settlement_line SET count = count + 1 WHERE batch_id = {batch.id}"))
    assert checks(world) == {"settlement_lines"}
    result = cli("ledger", "verify", ok=False)
    assert result.exit_code == 1 and "PROBLEM settlement_lines" in result.output


def test_a_voided_redemption_inside_a_batch_is_caught(world):
    made = a_month(world)
    create(world)
    with world.db.transaction() as s:
        s.execute(update(Redemption).where(Redemption.id == made["school"][0]).values(voided_at=Redemption.created_at))
    assert checks(world) == {"settlement_items"}


def test_money_in_clearing_that_no_batch_approved_is_caught(world):
    a_month(world)
    with world.db.transaction() as s:
        ledger.transfer(
            s, kind=books.SETTLE,
            source=ledger.get_account(s, books.merchant_key("testdorp", world.merchants["sport"])).id,
            destination=ledger.get_account(s, books.clearing_key("testdorp")).id, amount=100,
        )
    assert checks(world) == {"settlement_clearing"}


def test_a_batch_marked_paid_without_its_payout_is_caught(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    with world.db.transaction() as s:
        s.execute(text(f"UPDATE settlement_batch SET status = 'exported' WHERE id = {batch.id}"))
        s.execute(text(f"UPDATE settlement_batch SET status = 'paid' WHERE id = {batch.id}"))
    assert "settlement_transfers" in checks(world)


def test_a_merchant_payable_below_zero_is_caught(world):
    a_month(world)
    with world.db.transaction() as s:
        # 0.01 more than the sport club is owed leaves its payable: the
        # ledger lets it (a derived balance has no guard), verify must not.
        owed = ledger.balance(s, ledger.get_account(s, books.merchant_key("testdorp", world.merchants["sport"])).id)
        ledger.transfer(
            s, kind=books.RETURN,
            source=ledger.get_account(s, books.merchant_key("testdorp", world.merchants["sport"])).id,
            destination=ledger.get_account(s, books.fund_key("testdorp")).id, amount=owed + 1,
        )
    assert checks(world) == {"merchant_payables"}
    assert f"testdorp:merchant:{world.merchants['sport']} (-1)" in world.verify()[0]

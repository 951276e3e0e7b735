"""A settled redemption taken back later: netted off the merchant's next batch."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from pasdienst import books, ledger
from pasdienst.errors import NotFound, ValidationFailed
from pasdienst.redeem import redemptions
from pasdienst.redeem.models import Redemption
from pasdienst.settlement import corrections as settlement_corrections, export as settlement_export
from pasdienst.settlement.errors import CorrectionRefused
from pasdienst.settlement.models import SettlementCorrection, SettlementItem
from tests.factories import make_user

from .conftest import SettlementWorld, a_month, approve, at, create, export, lines, pay, payable

pytestmark = pytest.mark.money

NEXT = date(2027, 3, 20)


def settled_month(world: SettlementWorld) -> tuple[dict[str, list[int]], int]:
    made = a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    pay(world, batch.id)
    return made, batch.id


def correct(world: SettlementWorld, redemption_id: int, *, reason: str = "dubbel afgerekend", when=None):
    with world.db.transaction() as s:
        return settlement_corrections.correct_redemption(s, world.actor(world.finance), redemption_id, reason=reason, now=when or at(17))


def voucher_balance(world: SettlementWorld, redemption_id: int) -> int:
    from pasdienst.wallet.models import Voucher

    with world.db.read() as s:
        voucher_id = s.get(Redemption, redemption_id).voucher_id
        return ledger.balance(s, s.get(Voucher, voucher_id).account_id)


def corrections(world: SettlementWorld) -> int:
    with world.db.read() as s:
        return s.execute(select(func.count()).select_from(SettlementCorrection)).scalar_one()


def test_a_correction_after_payment_is_netted_off_the_next_batch(world):
    made, _ = settled_month(world)
    overcharged = made["sport"][0]  # 12.50
    world.redeem("sport", 3000, at(16))
    before = voucher_balance(world, overcharged)
    correction = correct(world, overcharged)
    assert correction.amount_cents == 1250
    assert voucher_balance(world, overcharged) == before + 1250
    assert payable(world, "sport") == 3000 - 1250
    batch = create(world, until=NEXT)
    assert lines(world, batch.id) == {world.merchants["sport"]: (1, 1750)}
    assert batch.total_cents == 1750
    approve(world, batch.id)
    assert payable(world, "sport") == 0
    with world.db.read() as s:
        statement = settlement_export.statement_lines(s, batch.id, world.merchants["sport"])
    assert [(line.voucher_kind, line.amount_cents) for line in statement] == [("budget", 3000), ("correction", -1250)]
    assert world.verify() == []


def test_a_merchant_whose_corrections_outweigh_its_redemptions_is_paid_nothing_and_waits(world):
    made, _ = settled_month(world)
    t2_cheque = ("cheque", "clothing")
    world.redeem("mode", 2000, at(16), child="T-2", voucher=t2_cheque)
    world.redeem("mode", 5500, at(18), child="T-2", voucher=t2_cheque)
    correct(world, made["mode"][0], when=at(19))  # 75.00 back: nets the 20.00 + 55.00 to zero
    world.redeem("sport", 400, at(19))
    batch = create(world, until=NEXT)
    assert lines(world, batch.id) == {world.merchants["sport"]: (1, 400)}
    with world.db.read() as s:
        waiting = s.execute(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.merchant_id == world.merchants["mode"], ~select(SettlementItem.redemption_id).where(SettlementItem.redemption_id == Redemption.id).exists())
        ).scalar_one()
        unclaimed = s.execute(select(SettlementCorrection.settlement_batch_id)).scalars().all()
    assert waiting == 2 and unclaimed == [None]
    approve(world, batch.id)
    assert payable(world, "mode") == 0
    assert world.verify() == []


def test_a_correction_needs_that_much_waiting_for_the_merchant_and_otherwise_writes_nothing(world):
    made, _ = settled_month(world)
    before = voucher_balance(world, made["sport"][0])
    with pytest.raises(CorrectionRefused, match="waiting to be settled, less than"):
        correct(world, made["sport"][0])
    assert corrections(world) == 0 and voucher_balance(world, made["sport"][0]) == before
    assert payable(world, "sport") == 0


def test_only_a_settled_redemption_is_corrected(world):
    waiting = world.redeem("sport", 1000, at(3))
    with pytest.raises(CorrectionRefused, match="not settled yet"):
        correct(world, waiting)
    batch = create(world)
    with pytest.raises(CorrectionRefused, match="draft batch"):
        correct(world, waiting)
    approve(world, batch.id)
    world.redeem("sport", 1000, at(16))
    correct(world, waiting)
    with pytest.raises(CorrectionRefused, match="already corrected"):
        correct(world, waiting)
    assert corrections(world) == 1
    assert world.verify() == []


def test_a_correction_needs_a_reason_and_a_finance_user_of_the_municipality(world):
    made, _ = settled_month(world)
    world.redeem("sport", 3000, at(16))
    with pytest.raises(ValidationFailed, match="reason"):
        correct(world, made["sport"][0], reason="  ")
    stranger = make_user(world.db, "finance", municipality="anderdorp")
    with pytest.raises(NotFound), world.db.transaction() as s:
        settlement_corrections.correct_redemption(s, world.actor(stranger), made["sport"][0], reason="x")
    assert corrections(world) == 0
    with world.db.read() as s:
        assert ledger.kind_totals(s, "testdorp")[books.REDEEM] == 1250 + 2000 + 1999 + 7500 + 3000


def test_todays_redemptions_are_not_counted_as_owed_because_the_till_can_still_void_them(world):
    made, _ = settled_month(world)
    today = at(17, 9)
    todays = world.redeem("mode", 7500, today, child="T-2", voucher=("cheque", "clothing"))
    with pytest.raises(CorrectionRefused, match=r"has €\s0,00 waiting to be settled"):
        correct(world, made["mode"][0], when=at(17, 12))
    assert corrections(world) == 0
    # The till voids it later that day: the merchant is owed nothing, never less.
    with world.db.transaction() as s:
        redemptions.void(s, world.till("mode"), todays, today=date(2027, 3, 17), now=at(17, 13))
    assert payable(world, "mode") == 0
    assert world.verify() == []


def test_a_redemption_of_an_earlier_day_outside_any_batch_counts_as_owed(world):
    made, _ = settled_month(world)
    world.redeem("mode", 7500, at(16, 18), child="T-2", voucher=("cheque", "clothing"))
    correct(world, made["mode"][0], when=at(17, 12))
    assert payable(world, "mode") == 0
    assert world.verify() == []

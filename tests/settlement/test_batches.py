"""Settlement batches: what goes in, who may move them on, and what the ledger does."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from pasdienst import books, ledger
from pasdienst.access.errors import Forbidden
from pasdienst.access.models import AuditEvent
from pasdienst.errors import NotFound, ValidationFailed
from pasdienst.redeem import redemptions
from pasdienst.redeem.errors import VoidWindowClosed
from pasdienst.merchants.models import Merchant
from pasdienst.settlement import batches, queries
from pasdienst.settlement.errors import FourEyes, NothingToSettle, WrongState
from pasdienst.settlement.models import SettlementBatch, SettlementItem, SettlementLine
from tests.factories import make_user

from .conftest import TODAY, UNTIL, SettlementWorld, a_month, approve, at, balance, counts, create, export, lines, pay, payable

pytestmark = pytest.mark.money


# -- what goes into a batch -------------------------------------------------------

def test_a_batch_takes_every_unsettled_redemption_before_until_in_a_line_per_merchant(world):
    made = a_month(world)
    batch = create(world)
    assert batch.status == "draft" and batch.until == UNTIL
    assert batch.count == 4 and batch.total_cents == 1250 + 2000 + 1999 + 7500
    assert (batch.period_from, batch.period_until) == (date(2027, 3, 2), date(2027, 3, 14))
    assert lines(world, batch.id) == {
        world.merchants["sport"]: (2, 3250),
        world.merchants["school"]: (1, 1999),
        world.merchants["mode"]: (1, 7500),
    }
    with world.db.read() as s:
        claimed = set(s.execute(select(SettlementItem.redemption_id).where(SettlementItem.batch_id == batch.id)).scalars())
    assert claimed == {r for ids in made.values() for r in ids}
    assert world.verify() == []


def test_redemptions_on_or_after_the_until_date_wait_for_a_later_batch(world):
    before = world.redeem("sport", 1000, at(13, 23, 59))
    world.redeem("sport", 500, at(14, 0, 1))  # 14 March in Amsterdam (13 March 23:01 UTC)
    batch = create(world, until=date(2027, 3, 14))
    assert batch.count == 1 and batch.total_cents == 1000
    with world.db.read() as s:
        assert s.execute(select(SettlementItem.redemption_id)).scalars().all() == [before]
    assert create(world, until=date(2027, 3, 15)).total_cents == 500


def test_voided_redemptions_are_not_settled(world):
    kept = world.redeem("sport", 1000, at(10))
    voided = world.redeem("sport", 700, at(10, 13))
    with world.db.transaction() as s:
        redemptions.void(s, world.till("sport"), voided, today=date(2027, 3, 10))
    batch = create(world)
    assert batch.count == 1 and batch.total_cents == 1000
    with world.db.read() as s:
        assert s.execute(select(SettlementItem.redemption_id)).scalars().all() == [kept]


def test_nothing_to_settle_is_a_clear_message_and_no_empty_batch(world):
    world.redeem("sport", 1000, at(15, 9))  # today: not before until
    with pytest.raises(NothingToSettle, match="nothing to settle for testdorp before 2027-03-15"):
        create(world)
    assert counts(world) == (0, 0, 0, 0)


def test_until_may_not_be_after_today_and_nothing_is_written(world):
    a_month(world)
    with pytest.raises(ValidationFailed, match="after today"):
        create(world, until=date(2027, 3, 16), today=TODAY)
    assert counts(world) == (0, 0, 0, 0)


def test_creating_again_creates_nothing_new_for_the_same_redemptions(world):
    a_month(world)
    first = create(world)
    with pytest.raises(NothingToSettle):
        create(world)
    assert counts(world)[:3] == (1, 3, 4)
    later = world.redeem("school", 100, at(14, 20))
    second = create(world)
    assert second.count == 1 and lines(world, second.id) == {world.merchants["school"]: (1, 100)}
    with world.db.read() as s:
        assert s.execute(select(SettlementItem.batch_id).where(SettlementItem.redemption_id == later)).scalar() == second.id
    assert first.id != second.id and world.verify() == []


def test_the_database_refuses_a_redemption_in_a_second_batch(world):
    a_month(world)
    batch = create(world)
    claimed = world.made[0]
    with pytest.raises(IntegrityError), world.db.transaction() as s:
        s.add(SettlementItem(redemption_id=claimed, batch_id=batch.id + 1))
        s.flush()


def test_two_batches_created_at_the_same_moment_never_share_a_redemption(world, db):
    for day in range(1, 13):
        world.redeem("sport", 100 + day, at(day))
        world.redeem("school", 200 + day, at(day, 15))
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def run(user) -> None:
        actor = world.actor(user)
        start.wait()
        try:
            with db.transaction() as s:
                outcomes.append(batches.create_batch(s, actor, "testdorp", until=UNTIL, today=TODAY).id)
        except NothingToSettle as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(u,)) for u in (world.finance, world.finance2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [o for o in outcomes if isinstance(o, int)]
    assert len(outcomes) == 2 and len(made) == 1, outcomes
    with db.read() as s:
        claimed = s.execute(select(SettlementItem.batch_id, func.count()).group_by(SettlementItem.batch_id)).all()
        total = s.execute(select(func.sum(SettlementBatch.total_cents))).scalar_one()
    assert claimed == [(made[0], 24)]
    assert total == sum(100 + d for d in range(1, 13)) + sum(200 + d for d in range(1, 13))
    assert world.verify() == []


# -- states and four eyes ----------------------------------------------------------

def test_the_creator_cannot_approve_their_own_batch(world):
    a_month(world)
    batch = create(world)
    with pytest.raises(FourEyes, match="another finance user must approve"):
        approve(world, batch.id, by=world.finance)
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "draft"
        assert ledger.kind_totals(s, "testdorp").get(books.SETTLE) is None


@pytest.mark.parametrize("role", ["admin", "caseworker"])
def test_only_finance_users_create_and_approve(world, role):
    a_month(world)
    other = world.admin if role == "admin" else make_user(world.db, role)
    with pytest.raises(Forbidden):
        create(world, by=other)
    batch = create(world)
    with pytest.raises(Forbidden):
        approve(world, batch.id, by=other)
    assert counts(world)[0] == 1


def test_finance_of_another_municipality_does_not_see_the_batch(world):
    a_month(world)
    batch = create(world)
    stranger = make_user(world.db, "finance", municipality="anderdorp")
    with pytest.raises(NotFound):
        approve(world, batch.id, by=stranger)
    with pytest.raises(Forbidden), world.db.transaction() as s:
        batches.create_batch(s, world.actor(stranger), "testdorp", until=UNTIL, today=TODAY)


def test_approval_moves_each_line_from_the_payable_to_clearing(world):
    a_month(world)
    batch = create(world)
    assert payable(world, "sport") == 3250
    result = approve(world, batch.id)
    assert result.changed and result.batch.status == "approved"
    assert payable(world, "sport") == 0 and payable(world, "school") == 0 and payable(world, "mode") == 0
    assert balance(world, books.clearing_key("testdorp")) == batch.total_cents
    with world.db.read() as s:
        line = s.execute(select(SettlementLine).where(SettlementLine.merchant_id == world.merchants["sport"])).scalar_one()
        assert (line.creditor_name, line.creditor_iban, line.end_to_end_id) == (
            "Sportclub De Sprint", "NL91ABNA0417164300", f"KP-B{batch.id}-M{world.merchants['sport']}"
        )
    assert world.verify() == []


def test_approval_refuses_a_line_larger_than_what_the_merchant_is_owed(world):
    """Payables keep no cached balance the ledger could guard: approval checks
    them itself, so a batch can never pay more than was redeemed."""
    a_month(world)
    batch = create(world)
    with world.db.transaction() as s:
        # The payable shrinks behind the batch's back (as a faulty tool might).
        sport = ledger.get_account(s, books.merchant_key("testdorp", world.merchants["sport"])).id
        clearing = ledger.get_account(s, books.clearing_key("testdorp")).id
        ledger.transfer(s, kind=books.SETTLE, source=sport, destination=clearing, amount=1)
    with pytest.raises(ledger.InsufficientFunds, match="more than the 3249 owed"):
        approve(world, batch.id)
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "draft"
        assert ledger.kind_totals(s, "testdorp").get(books.SETTLE) == 1  # only the one above


def test_approving_again_moves_no_money_twice(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    again = approve(world, batch.id, by=world.finance)
    assert not again.changed
    with world.db.read() as s:
        assert ledger.kind_totals(s, "testdorp")[books.SETTLE] == batch.total_cents


def test_an_invalid_merchant_iban_refuses_the_approval_naming_the_merchant(world):
    a_month(world)
    batch = create(world)
    with world.db.transaction() as s:
        s.execute(update(Merchant).where(Merchant.id == world.merchants["mode"]).values(iban="NL91ABNA0417164399"))
    with pytest.raises(ValidationFailed, match="Mode & Zo") as refused:
        approve(world, batch.id)
    assert "check digits" in refused.value.message
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "draft"
        assert ledger.kind_totals(s, "testdorp").get(books.SETTLE) is None
        preview = queries.batch_lines(s, world.actor(world.finance), batch.id)
    assert [line.merchant_name for line in preview if line.problem] == ["Mode & Zo"]


def test_a_cancelled_batch_frees_its_redemptions_for_the_next_one(world):
    a_month(world)
    batch = create(world)
    with world.db.transaction() as s:
        batches.cancel_batch(s, world.actor(world.finance), batch.id)
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "cancelled"
        assert s.execute(select(func.count()).select_from(SettlementItem)).scalar_one() == 0
    again = create(world)
    assert again.count == batch.count and again.total_cents == batch.total_cents
    assert world.verify() == []


def test_only_a_draft_can_be_cancelled(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    with pytest.raises(WrongState, match="only a draft"), world.db.transaction() as s:
        batches.cancel_batch(s, world.actor(world.finance), batch.id)
    with pytest.raises(WrongState, match="only a draft"):
        approve(world, create_cancelled(world).id)


def create_cancelled(world: SettlementWorld) -> SettlementBatch:
    world.redeem("school", 300, at(12))
    batch = create(world)
    with world.db.transaction() as s:
        return batches.cancel_batch(s, world.actor(world.finance), batch.id).batch


def test_paid_moves_clearing_to_the_bank_and_leaves_clearing_empty(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    result = pay(world, batch.id)
    assert result.changed and result.batch.status == "paid"
    assert balance(world, books.clearing_key("testdorp")) == 0
    assert balance(world, books.bank_key("testdorp")) == batch.total_cents
    assert not pay(world, batch.id).changed
    assert balance(world, books.bank_key("testdorp")) == batch.total_cents
    assert world.verify() == []


def test_a_batch_is_paid_only_after_its_file_was_exported(world):
    a_month(world)
    batch = create(world)
    with pytest.raises(WrongState, match="approve and export it first"):
        pay(world, batch.id)
    approve(world, batch.id)
    with pytest.raises(WrongState, match="export its payment file first"):
        pay(world, batch.id)
    assert balance(world, books.bank_key("testdorp")) == 0


def test_every_transition_is_recorded_with_who_and_when(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    pay(world, batch.id)
    with world.db.read() as s:
        steps = queries.batch_transitions(s, world.actor(world.finance), batch.id)
        audited = s.execute(
            select(AuditEvent.action, AuditEvent.actor_email).where(AuditEvent.entity_type == "settlement_batch").order_by(AuditEvent.id)
        ).all()
    assert [(t.from_status, t.to_status, t.by) for t in steps] == [
        (None, "draft", world.finance.email),
        ("draft", "approved", world.finance2.email),
        ("approved", "exported", world.finance.email),
        ("exported", "paid", world.finance.email),
    ]
    assert all(t.at is not None for t in steps)
    assert [a for a, _ in audited] == ["settlement.draft", "settlement.approved", "settlement.exported", "settlement.paid"]


def test_a_redemption_in_a_batch_can_no_longer_be_voided(world):
    # Made late on the 14th; a batch up to the 15th takes it while the till,
    # still on the 14th, could otherwise void it.
    made = world.redeem("sport", 1000, at(14, 23, 50))
    create(world)
    till = world.till("sport")
    with pytest.raises(VoidWindowClosed, match="settlement batch"), world.db.transaction() as s:
        redemptions.void(s, till, made, today=date(2027, 3, 14))
    assert payable(world, "sport") == 1000
    with world.db.read() as s:
        day = redemptions.day_redemptions(s, till, day=date(2027, 3, 14), today=date(2027, 3, 14))
    assert [(line.id, line.can_void) for line in day] == [(made, False)]


# -- the database keeps the history ---------------------------------------------------

def test_transitions_are_append_only_and_batches_cannot_be_deleted(world):
    a_month(world)
    batch = create(world)
    for statement in (
        "UPDATE settlement_transition SET by_email = 'x'",
        "DELETE FROM settlement_transition",
        f"DELETE FROM settlement_batch WHERE id = {batch.id}",
    ):
        with pytest.raises(DBAPIError), world.db.transaction() as s:
            s.execute(text(statement))
    assert counts(world)[0] == 1


def test_a_batch_state_only_moves_forward_and_its_figures_are_fixed_after_approval(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    for statement in (
        f"UPDATE settlement_batch SET status = 'draft' WHERE id = {batch.id}",
        f"UPDATE settlement_batch SET status = 'paid' WHERE id = {batch.id}",
        f"UPDATE settlement_batch SET total_cents = total_cents + 1 WHERE id = {batch.id}",
        f"UPDATE settlement_line SET total_cents = total_cents + 1, redeemed_cents = redeemed_cents + 1 WHERE batch_id = {batch.id}",
        f"DELETE FROM settlement_item WHERE batch_id = {batch.id}",
        "UPDATE settlement_item SET batch_id = batch_id + 1",
    ):
        with pytest.raises(DBAPIError), world.db.transaction() as s:
            s.execute(text(statement))
    assert world.verify() == []

"""Money given back follows the child: a void or a settlement correction of a
redemption whose pass has since been reissued lands on the child's current
pass, a blocked pass keeps it (its reissue carries it over), and once the
year is closed it returns to the fund. ``ledger verify`` finds no money on a
replaced or expired pass after any of it."""
from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from pasdienst import books, ledger
from pasdienst.clock import AMSTERDAM
from pasdienst.ledger import Transfer, verify
from pasdienst.redeem import redemptions
from pasdienst.redeem.models import Redemption
from pasdienst.settlement import corrections as settlement_corrections
from pasdienst.wallet import tokens
from pasdienst.wallet.models import ChildPass, Voucher
from pasdienst.wallet.services import block_pass, close_year, reissue_pass

from .conftest import TODAY, SettlementWorld, approve, at, balance, create, payable

pytestmark = pytest.mark.money

SPORT = ("budget", "sport_culture")
FULL = 15000  # the sample scheme's sport and culture budget
LAST_DAY = date(2027, 12, 31)  # the sample scheme's valid_until
YEAR_CLOSED = date(2028, 1, 2)


def on(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), AMSTERDAM)


def reissue(world: SettlementWorld, times: int, *, child: str = "T-1") -> None:
    """Reissue the child's pass; ``world.redeem`` takes the new one from then on."""
    for _ in range(times):
        with world.db.transaction() as s:
            new = reissue_pass(s, current_pass(world, s, child).pass_number, settings=world.settings, today=TODAY)
            world.passes[child] = (
                tokens.token_for(world.settings, new.handle),
                {(v.kind, v.category): v.id for v in new.vouchers},
            )


def current_pass(world: SettlementWorld, s, child: str = "T-1") -> ChildPass:
    """The child's newest generation, following the chain from the first."""
    found = s.get(Voucher, world.passes[child][1][SPORT]).child_pass
    while (newer := s.execute(select(ChildPass).where(ChildPass.replaces_id == found.id)).scalar_one_or_none()) is not None:
        found = newer
    return found


def sport_balance(world: SettlementWorld, child: str = "T-1") -> int:
    """The sport budget on the child's current pass."""
    with world.db.read() as s:
        child_pass = current_pass(world, s, child)
        voucher = s.execute(
            select(Voucher).where(Voucher.pass_id == child_pass.id, Voucher.kind == SPORT[0], Voucher.category == SPORT[1])
        ).scalar_one()
        return ledger.balance(s, voucher.account_id)


def money_on_old_passes(world: SettlementWorld) -> int:
    """Cents on the vouchers of every pass that is not the child's current one."""
    with world.db.read() as s:
        return sum(
            ledger.balance(s, v.account_id)
            for v in s.execute(
                select(Voucher).join(ChildPass, ChildPass.id == Voucher.pass_id).where(ChildPass.status.in_(("replaced", "expired")))
            ).scalars()
        )


def void(world: SettlementWorld, redemption_id: int, *, today: date = TODAY, now: datetime | None = None) -> Redemption:
    with world.db.transaction() as s:
        return redemptions.void(s, world.till("sport"), redemption_id, today=today, now=now)


def correct(world: SettlementWorld, redemption_id: int, *, when: datetime) -> None:
    with world.db.transaction() as s:
        settlement_corrections.correct_redemption(s, world.actor(world.finance), redemption_id, reason="dubbel afgerekend", now=when)


def settled(world: SettlementWorld, cents: int, when: datetime) -> int:
    """A redemption at the sports club, in an approved batch."""
    made = world.redeem("sport", cents, when)
    batch = create(world, until=when.date() + timedelta(days=1), today=when.date() + timedelta(days=1))
    approve(world, batch.id)
    return made


def kinds(world: SettlementWorld, *names: str) -> dict[str, int]:
    with world.db.read() as s:
        return {
            name: len(s.execute(select(Transfer.id).where(Transfer.kind == name, Transfer.reverses_id.is_(None))).all())
            for name in names
        }


@pytest.mark.parametrize("reissues", [1, 2])
def test_a_void_after_reissues_lands_on_the_childs_current_pass(world, reissues):
    made = world.redeem("sport", 1250, at(15, 10))
    reissue(world, reissues)
    assert sport_balance(world) == FULL - 1250
    carried_before = kinds(world, books.CARRY_OVER)[books.CARRY_OVER]

    assert void(world, made).voided_at is not None

    assert sport_balance(world) == FULL
    assert money_on_old_passes(world) == 0
    assert payable(world, "sport") == 0
    # The reversal gives it back where it was taken; one carry-over takes it on to the current pass.
    assert kinds(world, books.CARRY_OVER)[books.CARRY_OVER] == carried_before + 1
    assert world.verify() == []


@pytest.mark.parametrize("reissues", [1, 2])
def test_a_correction_after_reissues_lands_on_the_childs_current_pass(world, reissues):
    overcharged = settled(world, 1250, at(10))
    world.redeem("sport", 3000, at(14), child="T-2")  # waiting, so the correction can be netted
    reissue(world, reissues)

    correct(world, overcharged, when=at(16))

    assert sport_balance(world) == FULL
    assert money_on_old_passes(world) == 0
    assert payable(world, "sport") == 3000 - 1250
    assert world.verify() == []


def test_a_void_on_a_blocked_pass_stays_on_it_and_its_reissue_carries_it_over(world):
    made = world.redeem("sport", 1250, at(15, 10))
    with world.db.transaction() as s:
        block_pass(s, current_pass(world, s).pass_number, reason="kwijt")

    void(world, made)

    with world.db.read() as s:
        assert current_pass(world, s).status == "blocked"
    assert sport_balance(world) == FULL
    assert world.verify() == []
    reissue(world, 1)
    assert sport_balance(world) == FULL and money_on_old_passes(world) == 0
    assert world.verify() == []


@pytest.mark.parametrize("reissues", [0, 1])
def test_a_void_once_the_year_is_closed_returns_the_money_to_the_fund(world, reissues):
    # The till's day is still the last of the year when year end has run already.
    reissue(world, reissues)
    made = world.redeem("sport", 1250, on(LAST_DAY, 22))
    with world.db.transaction() as s:
        close_year(s, "testdorp", 2027, today=YEAR_CLOSED)
    fund = balance(world, books.fund_key("testdorp"))

    void(world, made, today=LAST_DAY, now=on(LAST_DAY, 23))

    assert balance(world, books.fund_key("testdorp")) == fund + 1250
    assert money_on_old_passes(world) == 0
    assert payable(world, "sport") == 0
    assert world.verify() == []


@pytest.mark.parametrize("reissues", [0, 2])
def test_a_correction_once_the_year_is_closed_returns_the_money_to_the_fund(world, reissues):
    overcharged = settled(world, 1250, at(10))
    reissue(world, reissues)
    world.redeem("sport", 3000, on(date(2027, 12, 20)), child="T-2")  # waiting, so it can be netted
    with world.db.transaction() as s:
        close_year(s, "testdorp", 2027, today=YEAR_CLOSED)
    fund = balance(world, books.fund_key("testdorp"))

    correct(world, overcharged, when=on(YEAR_CLOSED))

    assert balance(world, books.fund_key("testdorp")) == fund + 1250
    assert money_on_old_passes(world) == 0
    assert payable(world, "sport") == 3000 - 1250
    with world.db.read() as s:
        totals = ledger.kind_totals(s, "testdorp")
    # Booked as year end books what lapsed: expired, then returned to the fund.
    assert totals[books.EXPIRE] == totals[books.RETURN]
    assert world.verify() == []


def test_verify_reports_money_left_on_a_replaced_pass(world):
    reissue(world, 1)
    with world.db.transaction() as s:
        replaced = s.execute(select(ChildPass).where(ChildPass.status == "replaced")).scalar_one()
        voucher = s.execute(select(Voucher).where(Voucher.pass_id == replaced.id).order_by(Voucher.id)).scalars().first()
        fund = ledger.get_account(s, books.fund_key("testdorp"))
        # What a void used to do: money back onto the pass nobody can use any more.
        ledger.transfer(s, kind=books.ISSUE, source=fund.id, destination=voucher.account_id, amount=100)
    with world.db.read() as s:
        problems = [p for p in verify(s).problems if p.check == "wallet_replaced_passes_empty"]
    assert [p.ids for p in problems] == [[str(voucher.id)]]


def test_a_void_racing_a_reissue_ends_on_the_current_pass_either_way(world):
    """Started together, round after round: whichever goes first, the money
    given back ends on the child's current pass, and nothing deadlocks."""
    for i in range(8):
        made = world.redeem("sport", 100 + i, at(15, 10, i))
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def run(work) -> None:
            start.wait()
            try:
                work()
            except BaseException as exc:  # handed to the test
                failures.append(exc)

        threads = [
            threading.Thread(target=run, args=(lambda made=made: void(world, made),)),
            threading.Thread(target=run, args=(lambda: reissue(world, 1),)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
            assert not t.is_alive(), "the void and the reissue deadlocked"
        assert failures == []
        assert sport_balance(world) == FULL and money_on_old_passes(world) == 0, i
    assert world.verify() == []

"""A void and a settlement batch racing for the same redemption: exactly one of them gets it.

The redemption is made late on 14 March; the till, still on the 14th, voids
it while finance makes a batch up to the 15th, which would take it. Either
the void wins (the redemption is voided and in no batch) or the batch does
(it is in the batch and the void is refused); never both, never neither.
On PostgreSQL only the municipality's settlement lock keeps them apart (the
void takes it shared, the batch exclusively, pasdienst/settlement/claims.py):
each reads the redemption before the other's change is committed. SQLite
writers queue behind BEGIN IMMEDIATE, so the race cannot arise there.
"""
from __future__ import annotations

import random
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from pasdienst.redeem import redemptions
from pasdienst.redeem.errors import VoidWindowClosed
from pasdienst.redeem.models import Redemption
from pasdienst import faults
from pasdienst.settlement import claims
from pasdienst.settlement import batches
from pasdienst.settlement.errors import NothingToSettle
from pasdienst.settlement.models import SettlementBatch

from .conftest import TODAY, SettlementWorld, at, payable

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

TILL_DAY = date(2027, 3, 14)  # the till's today: the redemption's own day, so it may void
ROUNDS = 60
WAIT = 10  # seconds; only reached when something is broken


def _void(world: SettlementWorld, redemption_id: int, pids: dict | None = None) -> object:
    """Void at the till: the voided redemption, or the refusal."""
    try:
        with world.db.transaction() as s:
            if pids is not None:
                pids["void"] = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
            return redemptions.void(s, world.till("sport"), redemption_id, today=TILL_DAY, now=at(14, 23, 59))
    except VoidWindowClosed as refused:
        return refused


def _batch(world: SettlementWorld, actor, pids: dict | None = None) -> object:
    """A batch up to the 15th: its id, or NothingToSettle."""
    try:
        with world.db.transaction() as s:
            if pids is not None:
                pids["batch"] = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
            return batches.create_batch(s, actor, "testdorp", until=TODAY, today=TODAY).id
    except NothingToSettle as nothing:
        return nothing


def _run(*work) -> list[object]:
    """Each callable in its own thread; their results in order."""
    results: list[object] = [None] * len(work)

    def call(i: int) -> None:
        try:
            results[i] = work[i]()
        except Exception as exc:  # handed to the test, which fails on it
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 3)
        assert not t.is_alive(), "a thread hangs: the void and the batch deadlocked"
    return results


def _where_is(world: SettlementWorld, redemption_id: int) -> tuple[bool, int | None]:
    """Whether the redemption is voided, and the batch that claimed it."""
    with world.db.read() as s:
        voided = s.execute(select(Redemption.voided_at).where(Redemption.id == redemption_id)).scalar_one() is not None
        return voided, claims.batch_of(s, redemption_id)


def _waits_for_advisory_lock(world: SettlementWorld, pid: int) -> bool:
    with world.db.read() as s:
        return s.execute(
            text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND locktype = 'advisory' AND NOT granted"),
            {"pid": pid},
        ).scalar_one() > 0


def _eventually(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_void_racing_a_batch_ends_in_exactly_one_of_them(world):
    finance = world.actor(world.finance)
    rng = random.Random(4)
    outcomes = {"voided": 0, "settled": 0}
    settled_cents = 0
    for i in range(ROUNDS):
        cents = 100 + i
        made = world.redeem("sport", cents, at(14, 23, i % 59) + timedelta(seconds=i // 59))
        # A third of the rounds give the void a head start, a third the batch,
        # and a third start them together; a little jitter on top of each.
        head_start = (0.02, 0.0, 0.0)[i % 3], (0.0, 0.02, 0.0)[i % 3]
        start = threading.Barrier(2)

        def void(made=made, delay=head_start[0] + rng.random() / 500):
            start.wait()
            time.sleep(delay)
            return _void(world, made)

        def batch(delay=head_start[1] + rng.random() / 500):
            start.wait()
            time.sleep(delay)
            return _batch(world, finance)

        void_result, batch_result = _run(void, batch)
        voided, claimed_by = _where_is(world, made)
        if isinstance(void_result, Redemption):
            # The void won: the batch found nothing else waiting.
            assert voided and claimed_by is None, (i, claimed_by)
            assert isinstance(batch_result, NothingToSettle), (i, batch_result)
            outcomes["voided"] += 1
        else:
            # The batch won: the void was told so, and the money stays with the merchant.
            assert isinstance(void_result, VoidWindowClosed), (i, void_result)
            assert "settlement batch" in str(void_result.message)
            assert isinstance(batch_result, int) and claimed_by == batch_result and not voided, (i, batch_result)
            with world.db.read() as s:
                batch_row = s.get(SettlementBatch, batch_result)
                assert (batch_row.count, batch_row.total_cents) == (1, cents)
            settled_cents += cents
            outcomes["settled"] += 1
    # Both ways of ending were reached, so the race really ran both ways.
    assert outcomes["voided"] >= ROUNDS // 4 and outcomes["settled"] >= ROUNDS // 4, outcomes
    assert payable(world, "sport") == settled_cents
    assert world.verify() == []


def test_a_batch_that_has_claimed_makes_a_void_wait_and_then_refuses_it(world, monkeypatch):
    made = world.redeem("sport", 1000, at(14, 23, 50))
    claimed, go = threading.Event(), threading.Event()
    real_checkpoint = faults.checkpoint

    def pause_after_claim(name: str) -> None:
        if name == "settlement.create.after_claim":
            claimed.set()
            assert go.wait(WAIT)
        real_checkpoint(name)

    monkeypatch.setattr(faults, "checkpoint", pause_after_claim)
    finance, pids = world.actor(world.finance), {}

    def void():
        assert claimed.wait(WAIT)
        try:
            return _void(world, made, pids)
        finally:
            go.set()  # let the batch commit, had the void not waited for it

    def batch():
        return _batch(world, finance)

    def release_when_the_void_waits():
        assert claimed.wait(WAIT)
        _eventually(lambda: "void" in pids and _waits_for_advisory_lock(world, pids["void"]),
                    "the void did not wait for the batch's settlement lock")
        go.set()

    void_result, batch_id, released = _run(void, batch, release_when_the_void_waits)
    assert released is None, released
    assert isinstance(void_result, VoidWindowClosed) and "settlement batch" in void_result.message
    assert isinstance(batch_id, int)
    assert _where_is(world, made) == (False, batch_id)
    assert payable(world, "sport") == 1000
    assert world.verify() == []


def test_a_void_that_has_checked_makes_a_batch_wait_and_then_leaves_it_out(world, monkeypatch):
    made = world.redeem("sport", 1000, at(14, 23, 50))
    kept = world.redeem("sport", 700, at(13))  # so that the batch has something to take
    checked, go = threading.Event(), threading.Event()
    real_batch_of = claims.batch_of

    def pause_after_check(session, redemption_id):
        found = real_batch_of(session, redemption_id)
        checked.set()
        assert go.wait(WAIT)
        return found

    monkeypatch.setattr(claims, "batch_of", pause_after_check)
    finance, pids = world.actor(world.finance), {}

    def void():
        return _void(world, made)

    def batch():
        assert checked.wait(WAIT)
        try:
            return _batch(world, finance, pids)
        finally:
            go.set()

    def release_when_the_batch_waits():
        assert checked.wait(WAIT)
        _eventually(lambda: "batch" in pids and _waits_for_advisory_lock(world, pids["batch"]),
                    "the batch did not wait for the void's settlement lock")
        go.set()

    void_result, batch_id, released = _run(void, batch, release_when_the_batch_waits)
    assert released is None, released
    assert isinstance(void_result, Redemption) and void_result.voided_at is not None
    assert isinstance(batch_id, int)
    assert _where_is(world, made) == (True, None)
    assert _where_is(world, kept) == (False, batch_id)
    assert payable(world, "sport") == 700
    assert world.verify() == []

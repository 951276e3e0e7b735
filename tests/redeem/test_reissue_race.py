"""Tills redeeming on a pass while it is reissued or blocked.

Each redemption has one clear outcome: it succeeds before the reissue (whose
carry-over is that much smaller) or the block, or it is refused as a
replaced or blocked pass (``pass_blocked``, its ``reason`` says which); never a 5xx,
never a deadlock, and the books add up. On PostgreSQL this rests on one lock
order (docs/ARCHITECTURE.md): voucher accounts, then the pass. A till debits
the voucher's account and then reads the pass; a block or reissue locks all
the pass's voucher accounts before it changes the pass.
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from pasdienst import books, ledger
from pasdienst.ledger import Transfer, verify
from pasdienst.redeem import redemptions
from pasdienst.redeem.models import Redemption
from pasdienst.wallet import lifecycle
from pasdienst.wallet.models import ChildPass, Voucher
from pasdienst.wallet.services import block_pass, reissue_pass
from tests.factories import TODAY, login_as
from tests.admin.conftest import post


pytestmark = pytest.mark.money

TILLS = 4
CENTS = 5
FULL = 15000  # the sport and culture budget on the pass
WAIT = 30  # seconds; only reached when something hangs


@pytest.fixture
def till_settings(till_settings):
    # Four tills as fast as they can go: far beyond a real till's rate.
    return replace(till_settings, till_rate_limit="100000 per minute")


def _pass_of(db, voucher_id: int) -> ChildPass:
    with db.read() as s:
        return s.get(ChildPass, s.get(Voucher, voucher_id).pass_id)


def _reissue_via(how: str, db, till, cli, pass_id: int):
    if how == "page":
        admin = till.app.test_client()
        login_as(admin, "admin", municipality="testdorp")
        response = post(admin, f"/admin/passen/{pass_id}/vervangen", {"reason": "stolen", "confirm": "1"})
        assert response.status_code == 302, response.get_data(as_text=True)
        with admin.session_transaction() as session:
            assert [c for c, _ in session.get("_flashes", [])] == ["success"], session.get("_flashes")
    else:
        result = cli("passes", "reissue", str(pass_id))
        assert "carried over" in result.output


def _block_via(how: str, db, till, cli, pass_id: int):
    if how == "page":
        admin = till.app.test_client()
        login_as(admin, "admin", municipality="testdorp")
        response = post(admin, f"/admin/passen/{pass_id}/blokkeren", {"reason": "kwijt, gemeld door moeder"})
        assert response.status_code == 302, response.get_data(as_text=True)
        with admin.session_transaction() as session:
            assert [c for c, _ in session.get("_flashes", [])] == ["success"], session.get("_flashes")
    else:
        cli("passes", "block", str(pass_id), "--reason", "kwijt")


def _tills_during(till, action) -> list[list[tuple[int, str | None]]]:
    """``TILLS`` tills redeem ``CENTS`` again and again on the sport budget
    until refused; ``action`` runs (here, on this thread) once they are
    taking money. Each till's answers, in order."""
    voucher = till.vouchers[("budget", "sport_culture")]
    taking, done = threading.Event(), threading.Event()
    answers: list[list[tuple[int, str | None]]] = [[] for _ in range(TILLS)]

    def run(mine: list) -> None:
        client = till.app.test_client()
        while True:
            after = done.is_set()
            response = client.post(
                "/api/v1/redemptions",
                json={"code": till.payload, "voucher_id": voucher, "amount_cents": CENTS},
                headers={**till.headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            mine.append((response.status_code, (response.get_json(silent=True) or {}).get("code")))
            if response.status_code != 201:
                return
            if after:
                # Sent after the block or reissue had committed, and yet it took money.
                mine.append((201, "after the pass was stopped"))
                return
            taking.set()

    threads = [threading.Thread(target=run, args=(answers[i],)) for i in range(TILLS)]
    for t in threads:
        t.start()
    try:
        assert taking.wait(WAIT), answers
        action()
    finally:
        done.set()
        for t in threads:
            t.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a till hangs"
    return answers


def _each_till_took_money_then_was_refused(answers, refusal: tuple[int, str]) -> int:
    """Every till: successes, then exactly the one refusal; the successes counted."""
    for mine in answers:
        assert mine[-1] == refusal, (mine[-1], Counter(mine))
        assert set(mine[:-1]) <= {(201, None)}, Counter(mine)
    return sum(len(mine) - 1 for mine in answers)


def _carried(db, old_pass_id: int) -> int:
    with db.read() as s:
        new = s.execute(select(ChildPass).where(ChildPass.replaces_id == old_pass_id)).scalar_one()
        voucher = s.execute(
            select(Voucher).where(Voucher.pass_id == new.id, Voucher.kind == "budget", Voucher.category == "sport_culture")
        ).scalar_one()
        return ledger.balance(s, voucher.account_id)


def _books_add_up(db, till, taken: int) -> None:
    with db.read() as s:
        redeemed = s.execute(select(Redemption.amount_cents).where(Redemption.voided_at.is_(None))).scalars().all()
        payable = ledger.balance(s, ledger.get_account(s, books.merchant_key("testdorp", till.merchant_id)).id)
        report = verify(s)
    assert len(redeemed) * CENTS == sum(redeemed) == taken == payable
    assert report.ok, [str(p) for p in report.problems]


@pytest.mark.parametrize("how", ["page", "cli"])
def test_tills_redeeming_while_the_pass_is_reissued_succeed_before_or_hear_it_was_replaced(db, till, cli, how):
    old = _pass_of(db, till.vouchers[("budget", "sport_culture")])

    answers = _tills_during(till, lambda: _reissue_via(how, db, till, cli, old.id))

    succeeded = _each_till_took_money_then_was_refused(answers, (409, "pass_blocked"))
    # What the tills took before the reissue is exactly what it did not carry over.
    assert _carried(db, old.id) == FULL - succeeded * CENTS
    _books_add_up(db, till, succeeded * CENTS)


@pytest.mark.parametrize("how", ["page", "cli"])
def test_tills_redeeming_while_the_pass_is_blocked_succeed_before_or_hear_it_is_blocked(db, till, cli, how):
    old = _pass_of(db, till.vouchers[("budget", "sport_culture")])

    answers = _tills_during(till, lambda: _block_via(how, db, till, cli, old.id))

    succeeded = _each_till_took_money_then_was_refused(answers, (409, "pass_blocked"))
    with db.read() as s:
        assert s.get(ChildPass, old.id).status == "blocked"
    _books_add_up(db, till, succeeded * CENTS)
    _reissue_via(how, db, till, cli, old.id)
    assert _carried(db, old.id) == FULL - succeeded * CENTS
    _books_add_up(db, till, succeeded * CENTS)


# -- both orders, step by step (PostgreSQL: SQLite's writers simply take turns) --

class _PausingDebit:
    """``redemptions._debited``: the till pauses once its debit is done (on
    PostgreSQL's pipeline, once its result is back) and holds the account."""

    def __init__(self, paused: threading.Event, go: threading.Event, pids: dict) -> None:
        self._paused, self._go, self._pids = paused, go, pids

    def __call__(self, conn, debit) -> None:
        debit.fetchall()
        self._pids["till"] = conn.info.backend_pid
        self._paused.set()
        assert self._go.wait(WAIT)


def _is_waiting_for(db, pid: int) -> bool:
    with db.read() as s:
        return s.execute(
            text("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid)))"), {"pid": pid}
        ).scalar_one()


def _eventually(check, what: str) -> None:
    import time

    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _in_threads(*work) -> list[object]:
    results: list[object] = [None] * len(work)

    def call(i: int) -> None:
        try:
            results[i] = work[i]()
        except Exception as exc:  # handed to the test
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
        assert not t.is_alive(), "deadlocked"
    return results


def _redeem_once(till):
    response = till.app.test_client().post(
        "/api/v1/redemptions",
        json={"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 1250},
        headers={**till.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    return response.status_code, (response.get_json(silent=True) or {}).get("code")


def _reissue(db, till, pass_id: int) -> int:
    with db.transaction() as s:
        return reissue_pass(s, str(pass_id), settings=till.settings, today=TODAY).id


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_reissue_waits_for_a_till_that_has_debited_and_carries_over_the_rest(db, till, monkeypatch):
    old = _pass_of(db, till.vouchers[("budget", "sport_culture")])
    paused, go, pids = threading.Event(), threading.Event(), {}
    monkeypatch.setattr(redemptions, "_debited", _PausingDebit(paused, go, pids))

    def reissue():
        assert paused.wait(WAIT)
        return _reissue(db, till, old.id)

    def release_when_the_reissue_waits():
        assert paused.wait(WAIT)
        _eventually(lambda: _is_waiting_for(db, pids["till"]), "the reissue did not wait for the till")
        go.set()

    redeemed, new_id, _ = _in_threads(lambda: _redeem_once(till), reissue, release_when_the_reissue_waits)
    assert redeemed == (201, None)
    assert isinstance(new_id, int), new_id
    assert _carried(db, old.id) == FULL - 1250
    _books_add_up_cents(db, till, 1250)


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("action, refusal", [("reissue", (409, "pass_blocked")), ("block", (409, "pass_blocked"))])
def test_a_till_that_waited_for_a_reissue_or_block_is_refused_and_takes_nothing(db, till, monkeypatch, action, refusal):
    old = _pass_of(db, till.vouchers[("budget", "sport_culture")])
    locked, go, pids = threading.Event(), threading.Event(), {}
    real_lock = lifecycle._lock_accounts

    def lock_and_pause(session, pass_id):
        found = real_lock(session, pass_id)
        pids["staff"] = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        locked.set()
        assert go.wait(WAIT)
        return found

    monkeypatch.setattr(lifecycle, "_lock_accounts", lock_and_pause)

    def staff():
        if action == "reissue":
            return _reissue(db, till, old.id)
        with db.transaction() as s:
            return block_pass(s, str(old.id), reason="kwijt").status

    def redeem():
        assert locked.wait(WAIT)
        return _redeem_once(till)

    def release_when_the_till_waits():
        assert locked.wait(WAIT)
        _eventually(lambda: _is_waiting_for(db, pids["staff"]), "the till did not wait for the reissue or block")
        go.set()

    done, redeemed, _ = _in_threads(staff, redeem, release_when_the_till_waits)
    assert not isinstance(done, Exception), done
    assert redeemed == refusal
    if action == "reissue":
        assert _carried(db, old.id) == FULL
    _books_add_up_cents(db, till, 0)


def _books_add_up_cents(db, till, taken: int) -> None:
    with db.read() as s:
        redeemed = sum(s.execute(select(Redemption.amount_cents)).scalars().all())
        payable = ledger.balance(s, ledger.get_account(s, books.merchant_key("testdorp", till.merchant_id)).id)
        carried = s.execute(select(Transfer.amount).where(Transfer.kind == books.CARRY_OVER)).scalars().all()
        report = verify(s)
    assert redeemed == taken == payable
    assert all(amount > 0 for amount in carried)
    assert report.ok, [str(p) for p in report.problems]

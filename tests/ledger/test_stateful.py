"""Random top-ups, transfers and reversals; the invariants hold after each step."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from pasdienst import ledger
from pasdienst.ledger import verify

pytestmark = pytest.mark.money


def make_machine(db):
    class LedgerMachine(RuleBasedStateMachine):
        transfers = Bundle("transfers")

        @initialize()
        def open_books(self):
            # Each example books into its own partition instead of clearing
            # tables: the ledger refuses deletes, and verify must keep
            # holding over everything written so far.
            self.name = uuid.uuid4().hex[:12]
            with db.transaction() as s:
                self.world = ledger.open_account(s, key=f"{self.name}:world", kind="source", ledger=self.name, non_negative=False)
                self.wallets = [
                    ledger.open_account(s, key=f"{self.name}:wallet:{i}", kind="voucher", ledger=self.name, non_negative=True)
                    for i in range(3)
                ]
            self.model = {a: 0 for a in [self.world, *self.wallets]}
            self.reversed: set = set()

        @rule(target=transfers, to=st.integers(0, 2), amount=st.integers(1, 5000))
        def top_up(self, to, amount):
            with db.transaction() as s:
                posted = ledger.transfer(s, kind="topup", source=self.world, destination=self.wallets[to], amount=amount)
            self.model[self.world] -= amount
            self.model[self.wallets[to]] += amount
            return (posted.id, self.world, self.wallets[to], amount)

        @rule(target=transfers, src=st.integers(0, 2), dst=st.integers(0, 2), amount=st.integers(1, 5000))
        def move(self, src, dst, amount):
            a, b = self.wallets[src], self.wallets[dst]
            if a == b:
                with pytest.raises(ledger.InvalidTransfer), db.transaction() as s:
                    ledger.transfer(s, kind="move", source=a, destination=b, amount=amount)
                return (None, a, b, amount)
            try:
                with db.transaction() as s:
                    posted = ledger.transfer(s, kind="move", source=a, destination=b, amount=amount)
            except ledger.InsufficientFunds:
                assert self.model[a] < amount
                return (None, a, b, amount)
            assert self.model[a] >= amount
            self.model[a] -= amount
            self.model[b] += amount
            return (posted.id, a, b, amount)

        @rule(t=transfers)
        def reverse(self, t):
            tid, src, dst, amount = t
            if tid is None:
                return
            try:
                with db.transaction() as s:
                    ledger.reverse(s, tid)
            except ledger.AlreadyReversed:
                assert tid in self.reversed
                return
            except ledger.InsufficientFunds:
                assert self.model[dst] < amount and tid not in self.reversed
                return
            assert tid not in self.reversed
            self.reversed.add(tid)
            self.model[src] += amount
            self.model[dst] -= amount

        @rule(t=transfers)
        def retry_is_idempotent(self, t):
            tid, src, dst, amount = t
            if src == dst:
                return
            key = f"{self.name}:retry:{src}:{dst}:{amount}"
            before = dict(self.model)
            outcomes = []
            for _ in range(2):
                try:
                    with db.transaction() as s:
                        outcomes.append(ledger.transfer(s, kind="move", source=src, destination=dst, amount=amount, idempotency_key=key).replayed)
                except ledger.InsufficientFunds:
                    outcomes.append("refused")
            if outcomes[0] is False:
                self.model[src] -= amount
                self.model[dst] += amount
            assert outcomes[1] in (True, "refused") or outcomes[0] is True
            assert sum(self.model.values()) == 0 == sum(before.values())

        @invariant()
        def books_agree(self):
            if not hasattr(self, "model"):
                return
            with db.read() as s:
                for account, expected in self.model.items():
                    assert ledger.balance(s, account) == expected
                report = verify(s)
            assert report.ok, [str(p) for p in report.problems]

    return LedgerMachine


@pytest.mark.slow
def test_random_ledger_operations_keep_every_invariant(db):
    machine = make_machine(db)
    machine.TestCase.settings = settings(
        max_examples=25 if db.dialect == "postgresql" else 40,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    machine.TestCase().runTest()

"""Recompute the ledger from its postings and check every invariant.

Other packages add checks of their own (e.g. settlement batches) through
``register_check``; the ledger itself stays ignorant of them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import triggers_on
from .models import Account, Posting, Transfer

#: Triggers that make postings and transfers append-only and balanced.
PROTECTIVE_TRIGGERS = (
    "ledger_posting_no_update",
    "ledger_posting_no_delete",
    "ledger_posting_sealed",
    "ledger_transfer_no_update",
    "ledger_transfer_no_delete",
    "ledger_transfer_balanced",
)


@dataclass
class Problem:
    check: str
    message: str
    ids: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        shown = ", ".join(self.ids[:20]) + (f" (+{len(self.ids) - 20} more)" if len(self.ids) > 20 else "")
        return f"{self.check}: {self.message}" + (f": {shown}" if shown else "")


@dataclass
class Report:
    accounts: int = 0
    transfers: int = 0
    postings: int = 0
    reversals: int = 0
    money_in_ledger: int = 0
    problems: list[Problem] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"ledger {state}: {self.accounts} accounts, {self.transfers} transfers "
            f"({self.reversals} reversals), {self.postings} postings; "
            f"{len(self.checks)} checks; every balance recomputed from its postings"
        )


Check = Callable[[Session], list[Problem]]
_extra_checks: list[tuple[str, Check]] = []


def register_check(name: str) -> Callable[[Check], Check]:
    def decorate(fn: Check) -> Check:
        if all(n != name for n, _ in _extra_checks):
            _extra_checks.append((name, fn))
        return fn

    return decorate


def _ids(rows: Iterable[Any]) -> list[str]:
    return [str(r[0]) for r in rows]


def _check_balanced(session: Session) -> list[Problem]:
    legs = (
        select(
            Posting.transfer_id.label("tid"),
            func.count().label("n"),
            func.sum(Posting.amount).label("total"),
            func.sum(func.abs(Posting.amount)).label("gross"),
        )
        .group_by(Posting.transfer_id)
        .subquery()
    )
    bad = session.execute(
        select(Transfer.id)
        .outerjoin(legs, legs.c.tid == Transfer.id)
        .where(
            (legs.c.n.is_(None))
            | (legs.c.n < 2)
            | (legs.c.total != 0)
            | (legs.c.gross != 2 * Transfer.amount)
        )
        .order_by(Transfer.id)
    ).all()
    return [Problem("balanced", "transfers whose postings do not sum to zero, are fewer than two, or do not match the amount", _ids(bad))] if bad else []


def _check_orphans(session: Session) -> list[Problem]:
    bad = session.execute(
        select(Posting.id).outerjoin(Transfer, Transfer.id == Posting.transfer_id).where(Transfer.id.is_(None))
    ).all()
    return [Problem("orphans", "postings without a transfer", _ids(bad))] if bad else []


def _posting_sums():
    """Each account's balance recomputed from its postings (a subquery)."""
    return (
        select(Posting.account_id.label("aid"), func.sum(Posting.amount).label("total"))
        .group_by(Posting.account_id)
        .subquery()
    )


def _check_cached_balances(session: Session) -> list[Problem]:
    sums = _posting_sums()
    bad = session.execute(
        select(Account.key)
        .outerjoin(sums, sums.c.aid == Account.id)
        .where(Account.balance_cached.is_(True), Account.balance != func.coalesce(sums.c.total, 0))
        .order_by(Account.key)
    ).all()
    problems = [Problem("balances", "accounts whose kept balance differs from the sum of their postings", _ids(bad))] if bad else []
    stray = session.execute(
        select(Account.key).where(Account.balance_cached.is_(False), Account.balance != 0).order_by(Account.key)
    ).all()
    if stray:
        problems.append(Problem("balances", "accounts with a derived balance but a kept one as well", _ids(stray)))
    return problems


def _check_non_negative(session: Session) -> list[Problem]:
    sums = _posting_sums()
    bad = session.execute(
        select(Account.key)
        .join(sums, sums.c.aid == Account.id)
        .where(Account.non_negative.is_(True), sums.c.total < 0)
        .order_by(Account.key)
    ).all()
    return [Problem("non_negative", "non-negative accounts below zero", _ids(bad))] if bad else []


def _check_partitions(session: Session) -> list[Problem]:
    bad = session.execute(
        select(Transfer.id)
        .join(Posting, Posting.transfer_id == Transfer.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.ledger != Transfer.ledger)
        .distinct()
    ).all()
    return [Problem("partitions", "transfers touching accounts of another ledger", _ids(bad))] if bad else []


def _check_reversals(session: Session) -> list[Problem]:
    problems = []
    original = Transfer.__table__.alias("original")
    chained = session.execute(
        select(Transfer.id)
        .join(original, original.c.id == Transfer.reverses_id)
        .where(original.c.reverses_id.is_not(None))
    ).all()
    if chained:
        problems.append(Problem("reversals", "reversals of reversals", _ids(chained)))
    # A reversal's postings plus its original's must cancel per account.
    pairs = (
        select(Transfer.id.label("rid"), Transfer.reverses_id.label("oid"))
        .where(Transfer.reverses_id.is_not(None))
        .subquery()
    )
    net = session.execute(
        select(pairs.c.rid)
        .join(Posting, (Posting.transfer_id == pairs.c.rid) | (Posting.transfer_id == pairs.c.oid))
        .group_by(pairs.c.rid, Posting.account_id)
        .having(func.sum(Posting.amount) != 0)
    ).all()
    if net:
        problems.append(Problem("reversals", "reversals that do not exactly negate their original", sorted(set(_ids(net)))))
    return problems


def _check_triggers(session: Session) -> list[Problem]:
    found = triggers_on(session, "ledger_posting", "ledger_transfer")
    missing = [t for t in PROTECTIVE_TRIGGERS if t not in found]
    return [Problem("triggers", "protective triggers missing", missing)] if missing else []


_CORE_CHECKS: list[tuple[str, Check]] = [
    ("balanced", _check_balanced),
    ("orphans", _check_orphans),
    ("balances", _check_cached_balances),
    ("non_negative", _check_non_negative),
    ("partitions", _check_partitions),
    ("reversals", _check_reversals),
    ("triggers", _check_triggers),
]


def verify(session: Session) -> Report:
    report = Report(
        accounts=session.execute(select(func.count()).select_from(Account)).scalar_one(),
        transfers=session.execute(select(func.count()).select_from(Transfer)).scalar_one(),
        postings=session.execute(select(func.count()).select_from(Posting)).scalar_one(),
        reversals=session.execute(
            select(func.count()).select_from(Transfer).where(Transfer.reverses_id.is_not(None))
        ).scalar_one(),
    )
    total = session.execute(select(func.coalesce(func.sum(Posting.amount), 0))).scalar_one()
    if total != 0:
        report.problems.append(Problem("sum", f"all postings together sum to {total}, not 0"))
    for name, check in [*_CORE_CHECKS, *_extra_checks]:
        report.checks.append(name)
        report.problems.extend(check(session))
    return report

"""Posting money. Every write here happens inside the caller's transaction.

A ``LedgerError`` raised from these functions may leave earlier statements of
the same call applied in the session: the caller must roll back (the
``Database.transaction()`` context does so on any exception). Nothing here
commits.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..clock import now_utc
from ..db import insert_tuples, violated_constraint
from ._sql import WRITES, Writes
from .errors import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
    UnknownAccount,
)
from .models import Account, Posting, Transfer

_accounts = Account.__table__
_transfers = Transfer.__table__
_postings = Posting.__table__

_CHUNK = 5000

# The hot path runs these prebuilt statements on the session's connection:
# building a statement per call, and the ORM's execution layer, cost more
# than the database work itself (see scripts/bench_ledger.py). Those written
# out per database are in ``_sql``.
_INSERT_POSTINGS = insert(_postings)
_INSERT_TRANSFERS = insert(_transfers)
_BY_IDEMPOTENCY_KEY = select(_transfers).where(_transfers.c.idempotency_key == bindparam("b_key"))
_ACCOUNT_STATE = select(
    _accounts.c.key, _accounts.c.ledger, _accounts.c.balance, _accounts.c.balance_cached
).where(_accounts.c.id == bindparam("b_id"))
_POSTINGS_SUM = select(func.coalesce(func.sum(_postings.c.amount), 0)).where(
    _postings.c.account_id == bindparam("b_id")
)


@dataclass(frozen=True)
class Leg:
    """One posting of a transfer: ``amount`` cents onto ``account_id`` (signed)."""

    account_id: int
    amount: int


@dataclass(frozen=True)
class NewTransfer:
    kind: str
    legs: tuple[Leg, ...]
    reference: str | None = None
    idempotency_key: str | None = None
    reverses_id: uuid.UUID | None = None

    @classmethod
    def move(
        cls,
        kind: str,
        source: int,
        destination: int,
        amount: int,
        *,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> NewTransfer:
        _check_cents(amount)
        return cls(kind, (Leg(source, -amount), Leg(destination, amount)), reference, idempotency_key)

    @property
    def amount(self) -> int:
        return sum(leg.amount for leg in self.legs if leg.amount > 0)

    def fingerprint(self) -> str:
        body = {
            "kind": self.kind,
            "legs": sorted([leg.account_id, leg.amount] for leg in self.legs),
            "reference": self.reference,
            "reverses": str(self.reverses_id) if self.reverses_id else None,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Posted:
    """A transfer as written (or found again, when ``replayed``)."""

    id: uuid.UUID
    ledger: str
    kind: str
    amount: int
    reference: str | None
    idempotency_key: str | None
    created_at: datetime
    replayed: bool = False
    #: Balances right after this transfer, per account id with a cached
    #: balance (empty on a replay).
    balances: dict[int, int] = field(default_factory=dict)


def _check_cents(amount: object) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidTransfer(f"amount must be whole cents (an integer), not {amount!r}")
    if amount <= 0:
        raise InvalidTransfer(f"amount must be more than 0 cents, not {amount}")


def _validate(t: NewTransfer) -> None:
    if not t.kind or len(t.kind) > 32:
        raise InvalidTransfer("a transfer needs a kind of at most 32 characters")
    if len(t.legs) < 2:
        raise InvalidTransfer("a transfer needs at least two postings")
    for leg in t.legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
            raise InvalidTransfer(f"a posting must be a non-zero number of whole cents, not {leg.amount!r}")
        if isinstance(leg.account_id, bool) or not isinstance(leg.account_id, int):
            raise UnknownAccount(f"unknown account {leg.account_id!r}")
    if len({leg.account_id for leg in t.legs}) != len(t.legs):
        raise InvalidTransfer("a transfer touches each account once: it cannot move money from an account to itself")
    if sum(leg.amount for leg in t.legs) != 0:
        raise InvalidTransfer(
            f"postings of a {t.kind} transfer must sum to zero, not {sum(leg.amount for leg in t.legs)}"
        )
    if t.reference is not None and len(t.reference) > 200:
        raise InvalidTransfer("a reference is at most 200 characters")
    if t.idempotency_key is not None and not (0 < len(t.idempotency_key) <= 200):
        raise InvalidTransfer("an idempotency key is 1 to 200 characters")


# -- accounts ---------------------------------------------------------------

def open_account(
    session: Session, *, key: str, kind: str, ledger: str, non_negative: bool = True, balance_cached: bool = True
) -> int:
    """The id of the account named ``key``, created when it does not exist.

    ``balance_cached=False`` is for an account many concurrent transfers
    credit: its balance is derived from its postings, so it cannot be
    ``non_negative``.
    """
    if non_negative and not balance_cached:
        raise InvalidTransfer(f"account {key}: a non-negative account needs a cached balance to guard")
    found = session.execute(select(_accounts.c.id).where(_accounts.c.key == key)).scalar()
    if found is not None:
        return found
    return session.execute(
        insert(_accounts)
        .values(
            key=key, kind=kind, ledger=ledger, non_negative=non_negative, balance_cached=balance_cached,
            balance=0, created_at=now_utc(),
        )
        .returning(_accounts.c.id)
    ).scalar_one()


def open_accounts(session: Session, specs: Sequence[tuple[str, str, str, bool]]) -> list[int]:
    """Create many new accounts at once: ``(key, kind, ledger, non_negative)``.

    The keys must be new; returns their ids in the given order.
    """
    if not specs:
        return []
    created = now_utc()
    rows: list[dict[str, Any]] = [
        dict(key=k, kind=kind, ledger=ledger, non_negative=nn, balance=0, created_at=created)
        for k, kind, ledger, nn in specs
    ]
    by_key: dict[str, int] = {}
    # Matched back by key rather than asking for RETURNING in parameter
    # order, which makes SQLAlchemy fall back to one INSERT per row.
    writes = WRITES.of(session.connection())
    for start in range(0, len(rows), _CHUNK):
        result = writes.open_accounts(session, rows[start : start + _CHUNK], created)
        by_key.update({key: account_id for account_id, key in result})
    return [by_key[row["key"]] for row in rows]


def get_account(session: Session, key: str) -> Account:
    account = session.execute(select(Account).where(Account.key == key)).scalar_one_or_none()
    if account is None:
        raise UnknownAccount(f"unknown account {key!r}")
    return account


def balance(session: Session, account_id: int) -> int:
    """The account's balance: the cached one, or the sum of its postings."""
    row = session.connection().execute(_ACCOUNT_STATE, {"b_id": account_id}).first()
    if row is None:
        raise UnknownAccount(f"unknown account {account_id}")
    if row.balance_cached:
        return int(row.balance)
    return int(session.connection().execute(_POSTINGS_SUM, {"b_id": account_id}).scalar_one())


def balances(session: Session, account_ids: Iterable[int]) -> dict[int, int]:
    """Balances of many accounts at once (cached, or summed from postings)."""
    ids = sorted(set(account_ids))
    found: dict[int, int] = {}
    derived: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        for account_id, cached, value in session.execute(
            select(_accounts.c.id, _accounts.c.balance_cached, _accounts.c.balance).where(
                _accounts.c.id.in_(ids[start : start + _CHUNK])
            )
        ):
            if cached:
                found[account_id] = int(value)
            else:
                derived.append(account_id)
    for start in range(0, len(derived), _CHUNK):
        chunk = derived[start : start + _CHUNK]
        found.update(dict.fromkeys(chunk, 0))
        found.update(
            (account_id, int(total))
            for account_id, total in session.execute(
                select(_postings.c.account_id, func.sum(_postings.c.amount))
                .where(_postings.c.account_id.in_(chunk))
                .group_by(_postings.c.account_id)
            )
        )
    missing = [a for a in ids if a not in found]
    if missing:
        raise UnknownAccount(f"unknown account {missing[0]}")
    return found


# -- transfers ---------------------------------------------------------------

def transfer(
    session: Session,
    *,
    kind: str,
    source: int,
    destination: int,
    amount: int,
    reference: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Posted:
    """Move ``amount`` cents from ``source`` to ``destination``."""
    return post(
        session,
        NewTransfer.move(kind, source, destination, amount, reference=reference, idempotency_key=idempotency_key),
        now=now,
    )


def _replay(session: Session, t: NewTransfer) -> Posted | None:
    if t.idempotency_key is None:
        return None
    row = session.connection().execute(_BY_IDEMPOTENCY_KEY, {"b_key": t.idempotency_key}).first()
    if row is None:
        return None
    if row.fingerprint != t.fingerprint():
        raise IdempotencyKeyReused(
            f"idempotency key {t.idempotency_key!r} was already used for a different transfer"
        )
    return Posted(row.id, row.ledger, row.kind, row.amount, row.reference, row.idempotency_key, row.created_at, True)


def _apply_delta(conn: Connection, writes: Writes, account_id: int, delta: int) -> tuple[str, int | None]:
    """Change one balance by ``delta`` through the guarded update.

    Returns the account's ledger partition and its new balance (None for an
    account whose balance is derived: nothing to update, nothing locked).
    """
    row = writes.apply(conn, account_id, delta)
    if row is not None and not row.balance_cached:
        return row.ledger, None
    if row is not None and row.after is not None:
        return row.ledger, int(row.after)
    # Refused by the guard (or no such account): read the balance afresh
    # for the message, after whatever the guard waited for.
    state = conn.execute(_ACCOUNT_STATE, {"b_id": account_id}).first()
    if state is None:
        raise UnknownAccount(f"unknown account {account_id}")
    raise InsufficientFunds(
        f"account {state.key} holds {state.balance} cents, {-delta} requested",
        account_key=state.key,
        balance=int(state.balance),
        requested=-delta,
    )


_POSTING_COLUMNS = ("transfer_id", "account_id", "amount")
_TRANSFER_COLUMNS = (
    "id", "ledger", "kind", "amount", "reference", "idempotency_key", "fingerprint", "reverses_id", "created_at",
)
def _rows(rows: list[tuple[uuid.UUID, str, NewTransfer]], created: datetime) -> tuple[list[tuple], list[tuple]]:
    postings = [(tid, leg.account_id, leg.amount) for tid, _ledger, t in rows for leg in t.legs]
    transfers = [
        (tid, ledger, t.kind, t.amount, t.reference, t.idempotency_key, t.fingerprint(), t.reverses_id, created)
        for tid, ledger, t in rows
    ]
    return postings, transfers


def _write_bulk(session: Session, postings: list[tuple], transfers: list[tuple]) -> None:
    insert_tuples(
        session,
        [(_postings, _POSTING_COLUMNS, postings), (_transfers, _TRANSFER_COLUMNS, transfers)],
        what="bulk insert of ledger postings and transfers",
    )


def _write(session: Session, rows: list[tuple[uuid.UUID, str, NewTransfer]], created: datetime) -> None:
    postings, transfers = _rows(rows, created)
    # Postings first: the transfer row seals them, and its trigger checks
    # that they balance.
    try:
        if len(rows) >= WRITES.of(session.get_bind()).bulk_from:
            _write_bulk(session, postings, transfers)
        else:
            conn = session.connection()
            conn.execute(_INSERT_POSTINGS, [dict(zip(_POSTING_COLUMNS, r)) for r in postings])
            conn.execute(_INSERT_TRANSFERS, [dict(zip(_TRANSFER_COLUMNS, r)) for r in transfers])
    except (IntegrityError, DBAPIError) as exc:
        violated = violated_constraint(exc)
        if violated == "uq_ledger_transfer_idempotency_key":
            raise IdempotencyKeyReused(
                "a transfer with this idempotency key was written concurrently; retry to read it"
            ) from exc
        if violated == "uq_ledger_transfer_reverses_id":
            raise AlreadyReversed("this transfer has already been reversed") from exc
        raise


def post(session: Session, t: NewTransfer, *, now: datetime | None = None) -> Posted:
    """Write one transfer: guarded balance updates, postings, transfer row."""
    _validate(t)
    replayed = _replay(session, t)
    if replayed is not None:
        return replayed
    deltas: dict[int, int] = defaultdict(int)
    for leg in t.legs:
        deltas[leg.account_id] += leg.amount
    ledgers = set()
    balances: dict[int, int] = {}
    # Ascending id order, so two transfers over the same accounts always lock
    # them in the same order and cannot deadlock each other.
    conn = session.connection()  # once: each call costs more than a statement on SQLite
    writes = WRITES.of(conn)
    for account_id in sorted(deltas):
        partition, after = _apply_delta(conn, writes, account_id, deltas[account_id])
        ledgers.add(partition)
        if after is not None:
            balances[account_id] = after
    if len(ledgers) != 1:
        raise InvalidTransfer(f"a transfer cannot cross ledgers ({', '.join(sorted(ledgers))})")
    created = now or now_utc()
    tid = uuid.uuid4()
    ledger = ledgers.pop()
    _write(session, [(tid, ledger, t)], created)
    return Posted(tid, ledger, t.kind, t.amount, t.reference, t.idempotency_key, created, balances=balances)


def _apply_net(session: Session, net: dict[int, int]) -> None:
    """A batch's net balance changes: each debit through the guarded update
    (it may be refused), all credits in one set-based statement (a credit can
    never break the guard; issuing credits hundreds of thousands of new
    voucher accounts at once)."""
    credits = sorted((a, d) for a, d in net.items() if d > 0)
    conn = session.connection()
    writes = WRITES.of(conn)
    for account_id in sorted(a for a, d in net.items() if d < 0):
        _apply_delta(conn, writes, account_id, net[account_id])
    if credits:
        writes.credit(conn, credits)


def post_many(session: Session, transfers: Sequence[NewTransfer], *, now: datetime | None = None) -> list[Posted]:
    """Write many transfers as one all-or-nothing batch.

    Balances change by one guarded update per account (the net of the batch);
    an account that is both debited and credited in the batch is checked
    transfer by transfer in order, so the batch refuses exactly what the same
    transfers posted one at a time would refuse.
    """
    for t in transfers:
        _validate(t)
    results: list[Posted | None] = [None] * len(transfers)
    fresh: list[int] = []
    keyed = [i for i, t in enumerate(transfers) if t.idempotency_key is not None]
    existing: dict[str, Any] = {}
    keys = [transfers[i].idempotency_key for i in keyed]
    for start in range(0, len(keys), _CHUNK):
        for stored in session.execute(
            select(_transfers).where(_transfers.c.idempotency_key.in_(keys[start : start + _CHUNK]))
        ):
            existing[stored.idempotency_key] = stored
    for i, t in enumerate(transfers):
        row = existing.get(t.idempotency_key) if t.idempotency_key else None
        if row is None:
            fresh.append(i)
            continue
        if row.fingerprint != t.fingerprint():
            raise IdempotencyKeyReused(f"idempotency key {t.idempotency_key!r} was already used for a different transfer")
        results[i] = Posted(row.id, row.ledger, row.kind, row.amount, row.reference, row.idempotency_key, row.created_at, True)
    if not fresh:
        return results  # type: ignore[return-value]  # every slot filled: all were replays

    net: dict[int, int] = defaultdict(int)
    signs: dict[int, set[bool]] = defaultdict(set)
    for i in fresh:
        for leg in transfers[i].legs:
            net[leg.account_id] += leg.amount
            signs[leg.account_id].add(leg.amount > 0)

    info: dict[int, tuple[str, str, bool, int]] = {}
    derived: set[int] = set()
    ids = sorted(net)
    writes = WRITES.of(session.connection())
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stmt = select(
            _accounts.c.id, _accounts.c.key, _accounts.c.ledger, _accounts.c.non_negative, _accounts.c.balance,
            _accounts.c.balance_cached,
        ).where(writes.ids_in(chunk))
        mixed = [a for a in chunk if len(signs[a]) == 2]
        if mixed and writes.locks_rows:
            stmt = stmt.order_by(_accounts.c.id).with_for_update()
        for row in session.execute(stmt):
            info[row.id] = (row.key, row.ledger, bool(row.non_negative), int(row.balance))
            if not row.balance_cached:
                derived.add(row.id)
    missing = [a for a in ids if a not in info]
    if missing:
        raise UnknownAccount(f"unknown account {missing[0]}")

    # Accounts moved both ways: replay the batch in order from the locked
    # balance. Accounts moved one way only need just the net check below.
    running = {a: info[a][3] for a in ids if len(signs[a]) == 2 and info[a][2]}
    rows: list[tuple[uuid.UUID, str, NewTransfer]] = []
    for i in fresh:
        t = transfers[i]
        ledgers = {info[leg.account_id][1] for leg in t.legs}
        if len(ledgers) != 1:
            raise InvalidTransfer(f"a transfer cannot cross ledgers ({', '.join(sorted(ledgers))})")
        for leg in t.legs:
            if leg.account_id in running:
                running[leg.account_id] += leg.amount
                if running[leg.account_id] < 0:
                    key = info[leg.account_id][0]
                    raise InsufficientFunds(
                        f"account {key} would go below zero in this batch",
                        account_key=key,
                        balance=running[leg.account_id] - leg.amount,
                        requested=-leg.amount,
                    )
        rows.append((uuid.uuid4(), next(iter(ledgers)), t))

    _apply_net(session, {a: net[a] for a in ids if net[a] and a not in derived})
    created = now or now_utc()
    for start in range(0, len(rows), _CHUNK):
        _write(session, rows[start : start + _CHUNK], created)
    for (tid, ledger, t), i in zip(rows, fresh):
        results[i] = Posted(tid, ledger, t.kind, t.amount, t.reference, t.idempotency_key, created)
    return results  # type: ignore[return-value]  # every slot filled: replays above, fresh ones here


def reverse(
    session: Session,
    transfer_id: uuid.UUID,
    *,
    reference: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Posted:
    """Undo a transfer with a new one that negates its postings.

    The reversal keeps the original's kind, so totals per kind net out; it
    points at the original, which can be reversed only once.
    """
    original = session.execute(select(_transfers).where(_transfers.c.id == transfer_id)).first()
    if original is None:
        raise InvalidTransfer(f"no transfer {transfer_id}")
    if original.reverses_id is not None:
        raise InvalidTransfer("a reversal cannot itself be reversed; post a new transfer instead")
    t = NewTransfer(
        kind=original.kind,
        legs=tuple(
            Leg(row.account_id, -row.amount)
            for row in session.execute(
                select(_postings.c.account_id, _postings.c.amount)
                .where(_postings.c.transfer_id == transfer_id)
                .order_by(_postings.c.id)
            )
        ),
        reference=reference,
        idempotency_key=idempotency_key,
        reverses_id=transfer_id,
    )
    replayed = _replay(session, t)
    if replayed is not None:
        return replayed
    already = session.execute(select(_transfers.c.id).where(_transfers.c.reverses_id == transfer_id)).scalar()
    if already is not None:
        raise AlreadyReversed(f"transfer {transfer_id} has already been reversed by {already}")
    return post(session, t, now=now)


def kind_totals(session: Session, ledger: str) -> dict[str, int]:
    """Net money moved per transfer kind in one partition (reversals subtract)."""
    signed = func.sum(
        case((_transfers.c.reverses_id.is_(None), _transfers.c.amount), else_=-_transfers.c.amount)
    )
    rows = session.execute(
        select(_transfers.c.kind, signed).where(_transfers.c.ledger == ledger).group_by(_transfers.c.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}


def accounts_by_kind(session: Session, ledger: str) -> dict[str, int]:
    """Sum of balances per account kind in one partition (derived ones summed from postings)."""
    totals: dict[str, int] = defaultdict(int)
    cached = session.execute(
        select(_accounts.c.kind, func.sum(_accounts.c.balance))
        .where(_accounts.c.ledger == ledger, _accounts.c.balance_cached == True)  # noqa: E712 - a SQL comparison (SQLAlchemy overloads ==)
        .group_by(_accounts.c.kind)
    )
    derived = session.execute(
        select(_accounts.c.kind, func.sum(_postings.c.amount))
        .join(_postings, _postings.c.account_id == _accounts.c.id)
        .where(_accounts.c.ledger == ledger, _accounts.c.balance_cached == False)  # noqa: E712 - a SQL comparison (SQLAlchemy overloads ==)
        .group_by(_accounts.c.kind)
    )
    for kind, total in [*cached, *derived]:
        totals[kind] += int(total or 0)
    return dict(totals)


def postings_of(session: Session, transfer_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, int, int]]:
    ids = list(transfer_ids)
    return [
        (r.transfer_id, r.account_id, r.amount)
        for r in session.execute(
            select(_postings.c.transfer_id, _postings.c.account_id, _postings.c.amount).where(
                _postings.c.transfer_id.in_(ids)
            )
        )
    ]

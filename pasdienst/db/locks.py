"""Locks a transaction holds until it ends, by name, on either database.

On PostgreSQL a transaction-level advisory lock; on SQLite nothing is
needed: a write transaction holds the whole database from ``BEGIN
IMMEDIATE`` on, and the writers of all processes take turns
(``engine.WriterQueue``).

One lock is taken elsewhere, in SQL: the till's lock on an idempotency key
is part of the one statement that opens a redemption (``pg_try_advisory_xact_lock``
in ``redeem/tillsql.py``, PostgreSQL's variant of its statements), where a
statement of its own would cost a round trip on every payment.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_EXCLUSIVE = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('pasdienst:' || :scope || ':' || current_schema() || ':' || :key, 0))"
)
_SHARED = text(
    "SELECT pg_advisory_xact_lock_shared(hashtextextended('pasdienst:' || :scope || ':' || current_schema() || ':' || :key, 0))"
)


def hold_lock(session: Session, scope: str, key: object, *, shared: bool = False) -> None:
    """Wait for, then hold until the transaction ends, the lock on ``key``
    (a municipality's id, a cooperation's) in ``scope`` (``settlement``):
    exclusive, or ``shared`` with the other shared holders.

    Advisory locks are per database: the schema in the lock's name keeps
    installations (or the suite's parallel workers) that share one from
    waiting on each other.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(_SHARED if shared else _EXCLUSIVE, {"scope": scope, "key": str(key)})

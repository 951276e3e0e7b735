"""The ledger's statements that are written out per database.

``services`` moves money the same way on both; where SQLite and PostgreSQL
need different statements to do it fast (the guarded balance update, opening
many accounts, crediting many, reading many), ``WRITES.of(connection)`` picks
this module's variant for the connection's database (``db.PerDialect``).
Nothing here commits; everything runs in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..db import PerDialect, as_sqlalchemy_errors
from .models import Account

_accounts = Account.__table__

# One statement changes one balance. The guard and the change are one
# UPDATE: on PostgreSQL the row is locked and the condition re-read after
# any concurrent writer commits; on SQLite the write lock is already held
# (BEGIN IMMEDIATE). An account without a cached balance
# (``Account.balance_cached``) is not changed: on PostgreSQL the UPDATE sits
# in a CTE that skips it, so its row is never locked (many tills credit one
# merchant's payable at once) and the outer SELECT still reports it; SQLite,
# which has no row locks and no UPDATE in a CTE, adds 0 to it instead.
_GUARD = or_(_accounts.c.non_negative == False, _accounts.c.balance + bindparam("b_delta") >= 0)  # noqa: E712 - a SQL comparison (SQLAlchemy overloads ==)
_CHANGED = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("b_id"), _accounts.c.balance_cached == True, _GUARD)  # noqa: E712 - a SQL comparison (SQLAlchemy overloads ==)
    .values(balance=_accounts.c.balance + bindparam("b_delta"))
    .returning(_accounts.c.balance)
    .cte("changed")
)
_APPLY_POSTGRESQL = select(
    _accounts.c.ledger, _accounts.c.balance_cached, select(_CHANGED.c.balance).scalar_subquery().label("after")
).where(_accounts.c.id == bindparam("b_id"))
# Written out for the bare driver: on SQLite every statement runs under the
# write lock, and SQLAlchemy's execution layer cost more than the statement
# (scripts/bench_ledger.py).
_APPLY_SQLITE = (
    "UPDATE ledger_account SET balance = balance + CASE WHEN balance_cached THEN ? ELSE 0 END "
    "WHERE id = ? AND (non_negative = 0 OR balance + ? >= 0) RETURNING ledger, balance_cached, balance"
)


class Applied(tuple[str, bool, int | None]):
    """A row of the guarded update by name, as SQLAlchemy's rows are."""

    __slots__ = ()

    def __new__(cls, ledger: str, balance_cached: int, after: int | None) -> Applied:
        return super().__new__(cls, (ledger, bool(balance_cached), after))

    @property
    def ledger(self) -> str:
        return self[0]

    @property
    def balance_cached(self) -> bool:
        return self[1]

    @property
    def after(self) -> int | None:
        return self[2]


class _SQLite:
    #: Every write goes to the driver's own ``executemany``: no round trips to
    #: save, and SQLAlchemy's parameter handling cost more than the insert.
    bulk_from = 1
    #: A batch's accounts moved both ways need no row lock: the write lock is held.
    locks_rows = False

    def apply(self, conn: Connection, account_id: int, delta: int) -> Any:
        cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]  # a checked-out connection always has its driver connection
        try:
            found = cursor.execute(_APPLY_SQLITE, (delta, account_id, delta)).fetchall()
        finally:
            cursor.close()
        return Applied(*found[0]) if found else None

    def open_accounts(self, session: Session, rows: list[dict[str, Any]], created: datetime) -> Iterable[Any]:
        return session.execute(insert(_accounts).returning(_accounts.c.id, _accounts.c.key), rows)

    def credit(self, conn: Connection, credits: Sequence[tuple[int, int]]) -> None:
        cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]  # a checked-out connection always has its driver connection
        try:
            cursor.executemany("UPDATE ledger_account SET balance = balance + ? WHERE id = ?", [(d, a) for a, d in credits])
        finally:
            cursor.close()

    def ids_in(self, chunk: list[int]) -> ColumnElement[bool]:
        return _accounts.c.id.in_(chunk)


class _PostgreSQL:
    #: Single transfers stay on the prebuilt statements; from this many on,
    #: rows go to COPY (SQLAlchemy's per-row parameter handling and one
    #: INSERT per row cost more than the database work).
    bulk_from = 50
    #: A batch's accounts moved both ways are locked, in id order, before
    #: their balances are replayed.
    locks_rows = True

    def apply(self, conn: Connection, account_id: int, delta: int) -> Any:
        return conn.execute(_APPLY_POSTGRESQL, {"b_id": account_id, "b_delta": delta}).first()

    def open_accounts(self, session: Session, rows: list[dict[str, Any]], created: datetime) -> Iterable[Any]:
        # Four array parameters instead of a multi-row VALUES list: the
        # driver parses one short statement instead of a huge new one.
        # The arrays in binary (%b): as text, psycopg looked at every key
        # to quote it.
        conn = session.connection()
        cursor: Any = conn.connection.driver_connection.cursor(binary=True)  # type: ignore[union-attr]  # as above
        try:
            with as_sqlalchemy_errors(conn.dialect, "opening ledger accounts"):
                cursor.execute(
                    "INSERT INTO ledger_account (key, kind, ledger, non_negative, balance, created_at) "
                    "SELECT k, kd, lg, nn, 0, %(created)s FROM "
                    "unnest(%(keys)b::text[], %(kinds)b::text[], %(ledgers)b::text[], %(nns)b::bool[]) AS t(k, kd, lg, nn) "
                    "RETURNING id, key",
                    {
                        "created": created,
                        "keys": [r["key"] for r in rows],
                        "kinds": [r["kind"] for r in rows],
                        "ledgers": [r["ledger"] for r in rows],
                        "nns": [r["non_negative"] for r in rows],
                    },
                )
                return cursor.fetchall()
        finally:
            cursor.close()

    def credit(self, conn: Connection, credits: Sequence[tuple[int, int]]) -> None:
        conn.exec_driver_sql(
            "UPDATE ledger_account AS a SET balance = a.balance + v.delta "
            "FROM unnest(%(ids)s::bigint[], %(deltas)s::bigint[]) AS v(id, delta) WHERE a.id = v.id",
            {"ids": [a for a, _ in credits], "deltas": [d for _, d in credits]},
        )

    def ids_in(self, chunk: list[int]) -> ColumnElement[bool]:
        # One array parameter, not thousands of bound values to render, send
        # and parse (an issuing run reads 6,000 at a time).
        return _accounts.c.id == any_(bindparam("account_ids", chunk, type_=ARRAY(BigInteger)))


Writes = _SQLite | _PostgreSQL

WRITES: PerDialect[Writes] = PerDialect(sqlite=_SQLite(), postgresql=_PostgreSQL())

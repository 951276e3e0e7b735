"""Writing many rows at once, the fast way for each database.

An issuing run writes hundreds of thousands of pass, voucher, account,
posting and transfer rows. On SQLite the driver's ``executemany`` is already
a tight C loop. On PostgreSQL the rows go to the driver's ``COPY``: an
``INSERT … SELECT FROM unnest(array, …)`` of the same rows cost more on both
sides (psycopg looked at every text of the arrays to quote it, and the server
parsed the arrays back; scripts/bench_wallet.py). Both raise SQLAlchemy's
exception types, as its own statements do.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session


@contextlib.contextmanager
def as_sqlalchemy_errors(dialect: Any, what: str) -> Iterator[None]:
    """The bare driver's errors as the same exception types as SQLAlchemy's own statements raise."""
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        kind = IntegrityError if isinstance(exc, dialect.loaded_dbapi.IntegrityError) else DBAPIError
        raise kind(what, None, exc) from exc


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``, in the session's transaction."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    values = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    columns = ", ".join(f'"{name}"' for name in names)
    driver: Any = conn.connection.driver_connection
    with (
        as_sqlalchemy_errors(dialect, f"bulk insert into {table.name}"),
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(values(row))


_processors: dict[tuple[str, int, tuple[str, ...]], list[Any]] = {}


def _bind(dialect: Any, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Apply each column type's own bind processing, as SQLAlchemy would."""
    key = (dialect.name, id(table), columns)
    processors = _processors.get(key)
    if processors is None:
        processors = _processors[key] = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    if not any(processors):
        return rows
    return [tuple(p(v) if p else v for p, v in zip(processors, row)) for row in rows]


def insert_tuples(session: Session, writes: Sequence[tuple[Table, tuple[str, ...], list[tuple[Any, ...]]]], *, what: str) -> None:
    """Insert, in order, each ``(table, columns, rows)`` of ``writes`` (rows as
    tuples in the order of ``columns``) on the bare driver, in the session's
    transaction: ``COPY`` on PostgreSQL, ``executemany`` on SQLite. ``what``
    names the write in an error."""
    conn = session.connection()
    dialect = conn.dialect
    driver: Any = conn.connection.driver_connection
    with as_sqlalchemy_errors(dialect, what):
        if dialect.name == "postgresql":
            with driver.cursor() as cursor:
                for table, columns, rows in writes:
                    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            return
        cursor = driver.cursor()
        try:
            for table, columns, rows in writes:
                cursor.executemany(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    _bind(dialect, table, columns, rows),
                )
        finally:
            cursor.close()


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """Primary keys for ``count`` new rows of ``table`` (its ``id`` column),
    known before they are inserted (a voucher's ledger account is named after
    the voucher's id)."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # The sequence looked up once and named as a literal, which the
        # parser turns into its oid: in the select list it was looked up
        # again for every id (a catalog search each).
        sequence = session.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one()
        literal = "'" + sequence.replace("'", "''") + "'"
        found = session.execute(
            text(f"SELECT nextval({literal}::regclass) FROM generate_series(1, :n)"), {"n": count}
        ).scalars().all()
        return sorted(int(v) for v in found)
    # SQLite: the write lock is held since BEGIN IMMEDIATE, so nobody else
    # can take these ids between this read and the insert.
    start = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + count + 1))

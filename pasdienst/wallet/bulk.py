"""Inserting many rows at once, the fast way for each database.

An issuing run writes hundreds of thousands of pass and voucher rows. On
SQLite ``executemany`` is already a tight C loop. On PostgreSQL the rows go
to the driver's ``COPY``: an ``INSERT … SELECT FROM unnest(array, …)`` of
the same rows cost more on both sides (psycopg looked at every text of the
arrays to quote it, and the server parsed the arrays back; scripts/bench_wallet.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session


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
    try:
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(values(row))
    except dialect.loaded_dbapi.Error as exc:
        # The same exception types as SQLAlchemy's own statements raise.
        kind = IntegrityError if isinstance(exc, dialect.loaded_dbapi.IntegrityError) else DBAPIError
        raise kind(f"bulk insert into {table.name}", None, exc) from exc

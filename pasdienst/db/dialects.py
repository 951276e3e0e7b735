"""What differs between SQLite and PostgreSQL in a statement, chosen here and nowhere else.

Features do not ask which database they run on: they pick their variant of
something through ``PerDialect`` (a statement set written out per database,
as the till's and the ledger's are), or call one of the helpers below, each
of which does the one thing its name says on either database.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from .prepared import Direct

T = TypeVar("T")


class PerDialect(Generic[T]):
    """One ``T`` for each database (a set of statements, a writer), built once
    at import; :meth:`of` picks the one for a connection in a dictionary
    look-up, as cheap as the comparison it replaces."""

    __slots__ = ("_by_name",)

    def __init__(self, *, sqlite: T, postgresql: T) -> None:
        self._by_name = {"sqlite": sqlite, "postgresql": postgresql}

    def of(self, bind: Any) -> T:
        """The variant for ``bind``: a SQLAlchemy ``Connection`` or ``Engine``."""
        return self._by_name[bind.dialect.name]


#: ``insert`` of the dialect's own, with ``on_conflict_do_nothing``.
_INSERTS: PerDialect[Callable[[Any], Any]] = PerDialect(sqlite=sqlite.insert, postgresql=postgresql.insert)


def insert_ignoring_conflicts(session: Session, table: Any, *, index_elements: Sequence[str] | None = None) -> Insert:
    """An INSERT into ``table`` (a ``Table`` or a mapped class) that skips a row
    whose unique key is already taken (``ON CONFLICT DO NOTHING``); its
    ``rowcount`` says how many rows it wrote."""
    return _INSERTS.of(session.get_bind())(table).on_conflict_do_nothing(index_elements=index_elements)


_TRIGGERS = PerDialect(
    sqlite=text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :names"),
    # The tables the search path finds, as to_regclass('ledger_posting') would.
    postgresql=text(
        "SELECT t.tgname FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relname IN :names AND pg_table_is_visible(c.oid)"
    ),
)


def triggers_on(session: Session, *tables: str) -> set[str]:
    """The names of the triggers the tables named ``tables`` have, from the database's catalogue."""
    query = _TRIGGERS.of(session.get_bind()).bindparams(bindparam("names", expanding=True))
    return {row[0] for row in session.execute(query, {"names": list(tables)})}


def driver_of(conn: Any) -> Any:
    """The bare driver in a SQLAlchemy connection's transaction, for statements
    written for ``Database.driver()``: sqlite3's own connection, or psycopg's
    wrapped to run ``Prepared`` statements (``Direct``)."""
    raw = conn.connection.driver_connection
    return Direct(raw) if conn.dialect.name == "postgresql" else raw

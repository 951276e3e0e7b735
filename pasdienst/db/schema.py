"""The typed declarative base, its naming convention and the column types both databases share.

Constraints are named by ``NAMING_CONVENTION`` on both databases, so a
caller tells which unique key a write violated by its name
(``violated_constraint``), never by an error's text.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import BigInteger, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A 64-bit integer key that SQLite still treats as its rowid alias (only a
#: column declared exactly INTEGER PRIMARY KEY autoincrements there).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    SQLite has no time zones and hands back naive values; normalising here
    keeps comparisons in services honest.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}
    if TYPE_CHECKING:
        # Every model maps one table (no mapping to a join or a select), so
        # ``Model.__table__`` takes insert/update/delete as a Table does.
        __table__: ClassVar[Table]

    def __repr__(self) -> str:
        pk = ", ".join(f"{c.key}={getattr(self, str(c.key), None)!r}" for c in self.__mapper__.primary_key)
        return f"<{type(self).__name__} {pk}>"


def violated_constraint(exc: BaseException) -> str | None:
    """The name of the unique or primary key constraint ``exc`` violated, as the naming convention
    (``NAMING_CONVENTION``) or the model named it, on either database; None for anything else.

    PostgreSQL names it (``diag.constraint_name``); SQLite names only the columns
    (``UNIQUE constraint failed: ledger_transfer.idempotency_key``), which the models' metadata
    maps back to the constraint. ``exc`` may be SQLAlchemy's wrapper or the bare driver's error.
    Callers compare names, never a message's text.
    """
    orig = getattr(exc, "orig", None) or exc
    name = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    if not isinstance(orig, sqlite3.IntegrityError):
        return None
    message = str(orig)
    prefix = "UNIQUE constraint failed: "
    if not message.startswith(prefix):
        return None
    parts = [part.strip().partition(".") for part in message[len(prefix):].split(",")]
    table = Base.metadata.tables.get(parts[0][0])
    columns = {column for _, _, column in parts}
    if table is None:
        return None
    keys: list[UniqueConstraint | PrimaryKeyConstraint | Index] = [
        c for c in table.constraints if isinstance(c, UniqueConstraint | PrimaryKeyConstraint)
    ]
    keys += [index for index in table.indexes if index.unique]
    return next((str(key.name) for key in keys if {c.name for c in key.columns} == columns), None)


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE touched: ``Session.execute`` types its
    result as a plain ``Result``, and only a ``CursorResult`` (what such a
    statement returns) counts them."""
    assert isinstance(result, CursorResult)
    return result.rowcount

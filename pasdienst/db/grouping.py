"""Grouping the same rows by several keys at once, on either database.

The usage report counts the redemptions of a year per month and per
merchant from one subquery. PostgreSQL does both in one pass over the rows
(``GROUP BY GROUPING SETS``); SQLite has no grouping sets and runs one
query per key.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session


def group_by_each(
    session: Session, keys: Sequence[ColumnElement[Any]], measures: Sequence[ColumnElement[Any]]
) -> list[list[tuple[Any, ...]]]:
    """``measures`` grouped by each of ``keys`` on its own (not by all together):
    one list per key, of rows ``(key value, *measures)``.

    The keys are columns of one subquery and never NULL: on PostgreSQL a row
    of one key's grouping set has NULL for the other keys, which tells whose
    it is.
    """
    if session.get_bind().dialect.name == "postgresql":
        found: list[list[tuple[Any, ...]]] = [[] for _ in keys]
        for row in session.execute(select(*keys, *measures).group_by(func.grouping_sets(*keys))):
            values = tuple(row)
            which = next(i for i, value in enumerate(values[: len(keys)]) if value is not None)
            found[which].append((values[which], *values[len(keys):]))
        return found
    return [[tuple(row) for row in session.execute(select(key, *measures).group_by(key))] for key in keys]


def set_local(session: Session, **settings: str) -> None:
    """PostgreSQL's planner and memory settings for this transaction only
    (``SET LOCAL work_mem = '64MB'``); SQLite has none, and nothing is done."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name, value in settings.items():
        session.execute(text(f"SET LOCAL {name} = {value}"))

"""The database layer: engine, sessions and the typed declarative base.

Everything that differs between SQLite and PostgreSQL lives here:

* SQLite gets WAL, foreign keys, ``synchronous=FULL`` (money must survive a
  power cut) and a busy timeout, and every write transaction starts with
  ``BEGIN IMMEDIATE``. SQLite's default deferred ``BEGIN`` takes the write lock
  only at the first write, and two transactions that both read first then fail
  with "database is locked" instead of waiting; taking the lock up front makes
  writers wait instead, and a file lock (``WriterQueue``) makes them take
  turns. Read-only work uses ``Database.read()`` which begins
  deferred so page views do not queue behind writers (WAL lets them read).
* PostgreSQL runs through psycopg 3; an optional schema (used by the tests)
  goes onto the ``search_path``. A pooled connection drops its cached plans
  every ``REPLAN_EVERY`` transactions (``_replan_now_and_then``).

Services never commit: they take a session, flush, and the caller (a request,
a CLI command, a test) owns the transaction through ``Database.transaction()``.

The modules: ``schema`` (the declarative base, its naming convention, the
column types; ``violated_constraint``, ``rowcount``), ``engine`` (``Database``: engines,
transactions, the writer queue, the bare driver), ``prepared`` (PostgreSQL's
prepared statements sent several to a message), ``dialects`` (``PerDialect``,
which picks a feature's statements for the connection's database, and the
statements that differ: an insert that skips taken keys, the triggers of a
table, the bare driver in a session's transaction), ``grouping`` (the
reports' GROUPING SETS and planner settings),
``bulk`` (many rows at once: ``COPY`` or ``executemany``; primary keys
before the insert), ``locks`` (a lock by name until the transaction ends).
Callers import from here; nothing outside this package asks which database
it runs on (``tests/test_dialects.py``).
"""
from .bulk import allocate_ids, as_sqlalchemy_errors, insert_rows, insert_tuples
from .dialects import PerDialect, driver_of, insert_ignoring_conflicts, triggers_on
from .engine import (
    DRIVER_ERRORS,
    REPLAN_AFTER_SECONDS,
    REPLAN_EVERY,
    Database,
    WriterQueue,
    dispose_all_engines,
    is_disk_full,
    is_retryable,
    make_engine,
    sqlite_file,
    writer_queue,
)
from .grouping import group_by_each, set_local
from .locks import hold_lock
from .prepared import Batch, Direct, Pending, Prepared
from .schema import NAMING_CONVENTION, Base, BigIntPK, UTCDateTime, rowcount, violated_constraint

__all__ = [
    "DRIVER_ERRORS",
    "NAMING_CONVENTION",
    "REPLAN_AFTER_SECONDS",
    "REPLAN_EVERY",
    "Base",
    "Batch",
    "BigIntPK",
    "Database",
    "Direct",
    "Pending",
    "PerDialect",
    "Prepared",
    "UTCDateTime",
    "WriterQueue",
    "allocate_ids",
    "as_sqlalchemy_errors",
    "dispose_all_engines",
    "driver_of",
    "group_by_each",
    "hold_lock",
    "insert_ignoring_conflicts",
    "insert_rows",
    "insert_tuples",
    "is_disk_full",
    "is_retryable",
    "make_engine",
    "rowcount",
    "set_local",
    "sqlite_file",
    "triggers_on",
    "violated_constraint",
    "writer_queue",
]

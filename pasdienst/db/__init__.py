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
prepared statements sent several to a message). Callers import from here.
"""
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
    writer_queue,
)
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
    "Prepared",
    "UTCDateTime",
    "WriterQueue",
    "dispose_all_engines",
    "is_disk_full",
    "is_retryable",
    "make_engine",
    "rowcount",
    "violated_constraint",
    "writer_queue",
]

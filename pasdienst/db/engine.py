"""The engine, its connections and transactions on SQLite and PostgreSQL (see the package's overview)."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .prepared import PREPARED_KEY, Batch, Prepared

def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # On the driver itself: SQLAlchemy's statement execution cost more
        # than the BEGIN (one per transaction; scripts/bench_ledger.py).
        read_only = conn.get_execution_options().get("pasdienst_read_only")
        conn.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")


#: A pooled PostgreSQL connection plans afresh after this many transactions,
#: or after this many seconds, whichever comes first.
REPLAN_EVERY = 1000
REPLAN_AFTER_SECONDS = 60.0


def _replan_now_and_then(engine: Engine) -> None:
    """Make each pooled PostgreSQL connection drop its cached plans now and then.

    A connection keeps the plans it made for prepared statements, for the
    foreign-key checks PostgreSQL runs itself and for trigger functions, and
    makes them again only when the statistics of a table it reads change.
    Made from the statistics of a young database, the check of a foreign key
    into ``ledger_transfer`` was a scan of the whole table, and stayed one on
    every transfer as the table grew (docs/benchmarks.md, "The ledger as it
    grows"). ``DISCARD PLANS`` every thousand transactions or every minute
    makes the plans fit the tables' size again (the planner reads the size
    from the table itself, not from the statistics), for one planning round
    each time. The ledger's own triggers do not depend on this: they take
    their index whatever the plan's age (migration 0010).
    """

    @event.listens_for(engine, "checkin")
    def _count(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is None:  # invalidated: a new connection starts afresh anyway
            return
        now = time.monotonic()
        uses = record.info.get("pasdienst_transactions", 0) + 1
        since = record.info.setdefault("pasdienst_planned_at", now)
        if uses < REPLAN_EVERY and now - since < REPLAN_AFTER_SECONDS:
            record.info["pasdienst_transactions"] = uses
            return
        record.info["pasdienst_transactions"] = 0
        record.info["pasdienst_planned_at"] = now
        record.info[PREPARED_KEY] = None  # psycopg may DEALLOCATE ALL after the rollback
        try:
            dbapi_conn.execute("DISCARD PLANS")
            dbapi_conn.rollback()  # leave the connection idle, as the pool returned it
        except Exception:  # a dead connection fails on its next use, as it would have
            pass


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database or
    any other kind (PostgreSQL's are copied with its own tools)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_all_engines() -> None:
    """Drop pooled connections inherited across a fork (gunicorn post_fork)."""
    for engine in list(_engines):
        engine.dispose(close=False)


def make_engine(url: str, *, schema: str | None = None, echo: bool = False, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        sqlite_args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(parsed, echo=echo, connect_args=sqlite_args, **kwargs)
        _prepare_sqlite(engine)
        _engines.add(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {}
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 40)
        # No pre-ping: it costs a round trip per transaction. A connection
        # that died with the server is detected on use, the pool is
        # invalidated, and the request fails cleanly (clients retry with
        # their idempotency key).
        kwargs.setdefault("pool_recycle", 3600)
        engine = create_engine(parsed, echo=echo, connect_args=connect_args, **kwargs)
        _replan_now_and_then(engine)
        _engines.add(engine)
        return engine
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql+psycopg://")


class WriterQueue:
    """Makes SQLite writers of all processes take turns for the write lock.

    SQLite's busy handler does not queue: a writer that finds the database
    locked sleeps 1, 2, 5, 10 ... 100 ms and tries again, so under load the
    lock sits free while the waiters sleep, and an unlucky one waits for
    seconds. A file lock next to the database, taken before ``BEGIN
    IMMEDIATE`` and tried again at most every millisecond, hands the turn on
    almost at once. It only ever adds order: a writer that cannot get its
    turn within ``patience`` seconds (something holds it while waiting for
    this very writer) goes ahead, and SQLite's own lock keeps writers apart
    as before, as it does for programs that do not take the file lock.
    """

    def __init__(self, path: Path, patience: float = 30.0) -> None:
        self.path = path
        self.patience = patience
        self._guard = threading.RLock()  # threads of one process share the handle
        self._depth = 0
        self._held = False
        self._fd: int | None = None
        self._pid = 0

    def _handle(self) -> int:
        # A handle inherited over fork() is the same open file in parent and
        # child, and flock would let both in: every process opens its own.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def _take(self, deadline: float) -> bool:
        pause = 0.00005
        while True:
            try:
                fcntl.flock(self._handle(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        deadline = time.monotonic() + self.patience
        if not self._guard.acquire(timeout=self.patience):
            yield
            return
        try:
            if self._depth == 0:
                self._held = self._take(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._held:
                    fcntl.flock(self._handle(), fcntl.LOCK_UN)
                    self._held = False
        finally:
            self._guard.release()


_queues: dict[Path, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(database: str) -> WriterQueue:
    """The one queue of this process for a SQLite file (several Database
    objects on one file share it, so a thread never waits for itself)."""
    path = Path(database).resolve()
    with _queues_lock:
        if path not in _queues:
            _queues[path] = WriterQueue(path.with_name(path.name + ".writers"))
        return _queues[path]


T = TypeVar("T")

# SQLSTATEs after which repeating the whole transaction is safe and expected.
_RETRYABLE = {"40001", "40P01"}


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return code in _RETRYABLE
    return False


#: The bare drivers' own errors: ``Database.driver()`` lets them through unwrapped.
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)

#: PostgreSQL's disk_full; SQLite says SQLITE_FULL; the system ENOSPC or EDQUOT.
_DISK_FULL_SQLSTATE = "53100"
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk, under any of its names:
    ``OSError`` ENOSPC or EDQUOT, SQLite's "database or disk is full", or
    PostgreSQL's ``DiskFull``, also wrapped by SQLAlchemy."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_FULL_ERRNOS:
            return True
        if getattr(current, "sqlstate", None) == _DISK_FULL_SQLSTATE:
            return True
        if isinstance(current, sqlite3.Error) and (
            getattr(current, "sqlite_errorname", None) == "SQLITE_FULL" or "database or disk is full" in str(current)
        ):
            return True
        orig = current.orig if isinstance(current, DBAPIError) else None
        current = orig or current.__cause__ or current.__context__
    return False


class Database:
    """One engine and its session factories, shared by web, CLI and tests."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, schema=schema, echo=echo, **kwargs)
        self.schema = schema
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        self._queue = writer_queue(database) if database and database != ":memory:" else None
        self._reader = sessionmaker(
            self.engine.execution_options(pasdienst_read_only=True), expire_on_commit=False
        )
        self._peeker = (
            sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
            if self.engine.dialect.name == "postgresql"
            else self._reader
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commit on success, roll back on any error."""
        if self._queue is None:
            with self._writer() as session, session.begin():
                yield session
            return
        with self._queue.turn(), self._writer() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction that does not take SQLite's write lock."""
        # Ends with a commit of nothing: unlike a rollback it leaves loaded
        # objects usable after the block (expire_on_commit is off).
        with self._reader() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def peek(self) -> Iterator[Session]:
        """Reads outside any transaction, for one look-up before the real work
        (an API token on every request): each statement sees what is
        committed now. On PostgreSQL that saves the BEGIN and COMMIT round
        trips; on SQLite it is :meth:`read`."""
        if self._peeker is self._reader:
            with self.read() as session:
                yield session
            return
        with self._peeker() as session:
            yield session

    @contextlib.contextmanager
    def driver(self, statements: tuple[Prepared, ...] = ()) -> Iterator[Any]:
        """A write transaction on a pooled connection of the bare driver, for
        the one hot path that cannot afford SQLAlchemy's layers (the till's
        redemption).

        The transaction is begun here and committed when the block ends; any
        exception rolls it back. On SQLite the block gets the ``sqlite3``
        connection, after the writer queue and ``BEGIN IMMEDIATE``. On
        PostgreSQL it gets a :class:`Batch` of ``statements``: prepared once per
        connection, queued until a result is needed and then sent in one
        message; ``BEGIN`` goes out with the first of them, and what the block
        queues after its last read goes out with the ``COMMIT`` when the block
        ends (results can be read after the block). A connection that died
        with the server is dropped and the pool renewed, as SQLAlchemy does
        for its own connections.
        """
        # The turn first, as transaction() does: a connection is only held
        # while it can be used.
        with self._queue.turn() if self._queue is not None else contextlib.nullcontext():
            fairy = self.engine.raw_connection()
            conn: Any = fairy.driver_connection
            try:
                if self.engine.dialect.name == "sqlite":
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                    return
                # BEGIN and COMMIT go in the batch's messages (psycopg's own
                # BEGIN would cost a round trip of its own).
                try:
                    batch = Batch(conn, fairy.info, statements)
                    yield batch
                    batch.commit()
                finally:
                    # Only when the block failed is there anything to roll
                    # back; an idle connection sends nothing.
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        # psycopg may follow the ROLLBACK with DEALLOCATE ALL:
                        # the next batch asks the server what is prepared.
                        fairy.info[PREPARED_KEY] = None
                        with contextlib.suppress(self.engine.dialect.loaded_dbapi.Error):
                            conn.rollback()
            except self.engine.dialect.loaded_dbapi.Error as exc:
                if self.engine.dialect.is_disconnect(exc, conn, None):
                    self.engine.pool._invalidate(fairy, exc)  # what SQLAlchemy does on a disconnect
                raise
            finally:
                if (
                    self.engine.dialect.name == "postgresql" and fairy.is_valid
                    and conn.info.transaction_status != TransactionStatus.IDLE
                ):
                    fairy.invalidate()  # could not be reset: not for the next request
                fairy.close()

    def run(self, work: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run ``work`` in a write transaction, repeating it after a deadlock
        or serialization failure (PostgreSQL may pick us as the victim)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as session:
                    return work(session)
            except DBAPIError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


"""Engine, sessions and the typed declarative base.

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
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg.adapt import Transformer
from psycopg.generators import execute
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, PrimaryKeyConstraint, UniqueConstraint, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
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

    def __repr__(self) -> str:
        pk = ", ".join(f"{c.key}={getattr(self, c.key, None)!r}" for c in self.__mapper__.primary_key)
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
    keys = [c for c in table.constraints if isinstance(c, UniqueConstraint | PrimaryKeyConstraint)]
    keys += [index for index in table.indexes if index.unique]
    return next((str(key.name) for key in keys if {c.name for c in key.columns} == columns), None)


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
        record.info[_PREPARED_KEY] = None  # psycopg may DEALLOCATE ALL after the rollback
        try:
            dbapi_conn.execute("DISCARD PLANS")
            dbapi_conn.rollback()  # leave the connection idle, as the pool returned it
        except Exception:  # noqa: BLE001 - a dead connection fails on its next use, as it would have
            pass


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
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(parsed, echo=echo, connect_args=connect_args, **kwargs)
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
                        fairy.info[_PREPARED_KEY] = None
                        with contextlib.suppress(self.engine.dialect.loaded_dbapi.Error):
                            conn.rollback()
            except self.engine.dialect.loaded_dbapi.Error as exc:
                if self.engine.dialect.is_disconnect(exc, conn, None):
                    self.engine.pool._invalidate(fairy, exc)  # noqa: SLF001 - what SQLAlchemy does on a disconnect
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


# -- PostgreSQL: prepared statements, several to a message --------------------------

_PLACEHOLDER = re.compile(r"(?<![:\w]):(\w+)")
#: The pool's record of a connection (``ConnectionRecord.info``, cleared when
#: the connection is replaced): the names this module prepared on it.
_PREPARED_KEY = "pasdienst_prepared"
_ADAPTERS_KEY = "pasdienst_adapters"
_NONE_PREPARED: frozenset[str] = frozenset()


class Prepared:
    """A PostgreSQL statement prepared once per connection (``PREPARE``) and
    run by name (``EXECUTE``) in a :class:`Batch`, so that several go to the
    server in one simple-query message and none is parsed or planned again;
    or run as it is in a caller's transaction (:class:`Direct`). ``sql``
    names its parameters ``:name``."""

    __slots__ = ("name", "params", "prepare", "sql")

    def __init__(self, name: str, sql: str) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        self.name = name
        # On one line (logs, traces): no literal in these statements holds a
        # run of white space.
        self.sql = " ".join(_PLACEHOLDER.sub(number, sql).split())
        self.prepare = f"PREPARE {name} AS {self.sql}".encode()
        self.params = tuple(names)

    def __repr__(self) -> str:
        return f"<Prepared {self.name}>"


class Direct:
    """:class:`Prepared` statements on a psycopg connection in the caller's
    transaction (a SQLAlchemy session's), one round trip each, as psycopg
    runs any statement (and prepares it after a few runs)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    @property
    def info(self) -> Any:
        return self._conn.info

    def execute(self, statement: Prepared, params: Mapping[str, Any]) -> psycopg.Cursor[Any]:
        cursor = psycopg.RawCursor(self._conn)
        cursor.execute(statement.sql, [params[name] for name in statement.params])
        return cursor


class Pending:
    """The result of a statement queued in a :class:`Batch`; reading it sends
    what is queued. Its rows are loaded when read."""

    __slots__ = ("_batch", "_result", "_rows")

    def __init__(self, batch: Batch) -> None:
        self._batch = batch
        self._result: Any = None  # its PGresult, once the message it went in is answered
        self._rows: list[tuple[Any, ...]] | None = None

    def _read(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            if self._result is None:
                self._batch.flush()
            self._rows = self._batch._load(self._result)  # noqa: SLF001
        return self._rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._read(), []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._read()
        return rows.pop(0) if rows else None


_Queued = tuple["Prepared | bytes", "Mapping[str, Any] | None", "Pending | None"]


class Batch:
    """One transaction on a psycopg connection, its statements sent through
    the simple query protocol: queued until a result is needed, then all that
    is queued in one message (one round trip). ``BEGIN`` goes with the first
    message, :meth:`commit` sends ``COMMIT`` with the last. Each statement
    runs as a prepared statement (:class:`Prepared`): those of ``statements``
    that this connection has not met are prepared in the first message, any
    other in the message that first runs it.

    The messages go to libpq (``pgconn``) directly: a psycopg cursor's
    layers (its prepared-statement manager, result bookkeeping, a cursor per
    transaction) cost more client CPU than the two round trips. psycopg's own
    transaction state is not used (nor its autocommit flag): libpq's says
    whether a transaction is open, and ``Connection.rollback()`` reads it.

    Should the server have forgotten the prepared statements (psycopg sends
    ``DEALLOCATE ALL`` after a rollback on a connection where it prepared
    its own), the first message is sent again after preparing them anew. A
    statement that fails stops the message there (PostgreSQL runs none of
    the rest, ``COMMIT`` included) and raises the driver's error; the
    transaction is then the caller's to roll back.
    """

    def __init__(self, conn: psycopg.Connection[Any], info: dict[str, Any], statements: tuple[Prepared, ...]) -> None:
        self._conn = conn
        self._pgconn = conn.pgconn
        self._info = info
        self._statements = statements
        adapters = info.get(_ADAPTERS_KEY)
        if adapters is None:
            adapters = info[_ADAPTERS_KEY] = (Transformer(conn).as_literal, Transformer(conn))
        self._literal, self._loader = adapters
        self._queue: list[_Queued] = []
        self._known: set[str] | frozenset[str] | None = None  # before the first message: not asked yet

    @property
    def info(self) -> Any:
        """The connection's ``info`` (``backend_pid`` ...)."""
        return self._conn.info

    def command(self, sql: bytes) -> None:
        """Queue a statement without parameters whose result nobody reads."""
        self._queue.append((sql, None, None))

    def execute(self, statement: Prepared, params: Mapping[str, Any]) -> Pending:
        pending = Pending(self)
        self._queue.append((statement, params, pending))
        return pending

    def commit(self) -> None:
        self._queue.append((b"COMMIT", None, None))
        self.flush()

    def flush(self) -> None:
        if not self._queue:
            return
        queue, self._queue = self._queue, []
        if self._known is not None:
            self._send(queue, first=False)
            return
        # A connection this pool never saw prepare anything has none of ours;
        # None: it is not known which (ask the server).
        known = self._info.get(_PREPARED_KEY, _NONE_PREPARED)
        self._known = known if known is not None else self._prepared_on_server()
        try:
            self._send(queue, first=True)
        except (psycopg.errors.InvalidSqlStatementName, psycopg.errors.DuplicatePreparedStatement):
            self._conn.rollback()
            self._known = self._prepared_on_server()
            self._send(queue, first=True)

    def _load(self, result: Any) -> list[tuple[Any, ...]]:
        if result.status != ExecStatus.TUPLES_OK:
            return []
        loader = self._loader
        loader.set_pgresult(result)
        return loader.load_rows(0, result.ntuples, tuple)

    def _run(self, query: bytes) -> list[Any]:
        """Send ``query`` (one simple-query message) and wait for its results;
        raise the error of a statement that failed."""
        pgconn = self._pgconn
        pgconn.send_query(query)
        results = self._conn.wait(execute(pgconn))
        for result in results:
            if result.status == ExecStatus.FATAL_ERROR:
                raise psycopg.errors.error_from_result(result, encoding=pgconn._encoding)  # noqa: SLF001
        return results

    def _prepared_on_server(self) -> set[str]:
        (result,) = self._run(b"SELECT name FROM pg_prepared_statements")
        return {result.get_value(row, 0).decode() for row in range(result.ntuples)}

    def _send(self, queue: list[_Queued], *, first: bool) -> None:
        known = self._known
        assert known is not None
        literal = self._literal
        parts: list[bytes] = [b"BEGIN"] if first else []
        fresh: list[str] = []
        if first:
            for statement in self._statements:
                if statement.name not in known:
                    parts.append(statement.prepare)
                    fresh.append(statement.name)
        slots: list[Pending | None] = [None] * len(parts)
        for statement, params, pending in queue:
            if type(statement) is bytes:
                parts.append(statement)
                slots.append(pending)
                continue
            assert isinstance(statement, Prepared) and params is not None
            if statement.name not in known and statement.name not in fresh:
                parts.append(statement.prepare)
                slots.append(None)
                fresh.append(statement.name)
            values = []
            for name in statement.params:
                value = params[name]
                kind = type(value)
                if value is None:
                    values.append(b"NULL")
                elif kind is int:
                    values.append(b"%d" % value)
                elif kind is bool:
                    values.append(b"true" if value else b"false")
                else:
                    values.append(literal(value))
            parts.append(b"EXECUTE %s(%s)" % (statement.name.encode(), b", ".join(values)))
            slots.append(pending)
        try:
            results = self._run(b"; ".join(parts))
        except BaseException:
            if fresh:
                # Which of them ran before the error is not known: ask next time.
                self._info[_PREPARED_KEY] = None
            raise
        if fresh or self._info.get(_PREPARED_KEY) is None:
            self._known = self._info[_PREPARED_KEY] = known | set(fresh)
        for pending, result in zip(slots, results):
            if pending is not None:
                pending._result = result  # noqa: SLF001

"""PostgreSQL: prepared statements, several to a message.

The till's redemption runs its statements on the bare driver
(``Database.driver()``): ``Prepared`` statements, queued in a ``Batch`` and
sent several to one simple-query message straight to libpq; ``Direct`` runs
the same statements in a SQLAlchemy session's transaction.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
import psycopg.errors
from psycopg.adapt import Transformer
from psycopg.generators import execute
from psycopg.pq import ExecStatus

_PLACEHOLDER = re.compile(r"(?<![:\w]):(\w+)")
#: The pool's record of a connection (``ConnectionRecord.info``, cleared when
#: the connection is replaced): the names this module prepared on it.
PREPARED_KEY = "pasdienst_prepared"
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
            self._rows = self._batch._load(self._result)
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
        # Transformer is a variable (the C or the Python class): no type to name.
        adapters: tuple[Callable[[Any], bytes], Any] | None = info.get(_ADAPTERS_KEY)
        if adapters is None:
            adapters = info[_ADAPTERS_KEY] = (Transformer(conn).as_literal, Transformer(conn))
        self._literal: Callable[[Any], bytes] = adapters[0]
        self._loader: Any = adapters[1]
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
        known = self._info.get(PREPARED_KEY, _NONE_PREPARED)
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
                raise psycopg.errors.error_from_result(result, encoding=pgconn._encoding)
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
            for prepared in self._statements:
                if prepared.name not in known:
                    parts.append(prepared.prepare)
                    fresh.append(prepared.name)
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
                self._info[PREPARED_KEY] = None
            raise
        if fresh or self._info.get(PREPARED_KEY) is None:
            self._known = self._info[PREPARED_KEY] = known | set(fresh)
        for pending, result in zip(slots, results):
            if pending is not None:
                pending._result = result


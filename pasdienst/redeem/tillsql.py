"""The redemption's statements, run on the bare driver (psycopg 3 / sqlite3).

A redemption is the busiest write of the service, so its statements skip
SQLAlchemy's execution layer (statement caching, parameter and result
processing cost more than the database work; docs/benchmarks.md) and are
written out per dialect here. Everything else in the product goes through
SQLAlchemy; the tables and their rules are the same.

On PostgreSQL they are prepared statements (``db.Prepared``: ``PREPARE``
once per connection, then ``EXECUTE`` by name), sent several to a
simple-query message (``db.Batch``), and a redemption is two round trips:

1. ``BEGIN``, ``PG_INDEX_PROBES`` and ``CONTEXT``: who is asking (the API
   token, its user and merchant; or the merchant of a session user), a
   stored answer for the key, the voucher with its bindings and accounts,
   and its pass; it takes the key's advisory lock.
2. the write tail with the ``COMMIT``: the guarded debit and the two
   postings in one statement, the sealing transfer row and the redemption
   row (its balance read back from the account) in the next, and the token's
   ``last_used_at`` when due. When the guard refuses the debit, no postings
   are written, so the transfer row's trigger (at least two postings that sum
   to zero) refuses the transfer: the server runs nothing after it in the
   message, ``COMMIT`` included.

psycopg's own pipeline mode gave the same two round trips for about 1.5 times
the client CPU (a flush and a poll per statement, a cursor per statement).

SQLite runs the same steps as single statements under ``BEGIN IMMEDIATE``.
"""
from __future__ import annotations

import uuid
from collections import namedtuple
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from ..db import PerDialect, Prepared

#: The first statement of a till's transaction on PostgreSQL: its statements,
#: and the foreign-key checks of the rows it writes, are planned as index
#: probes however small a table was when the plan was made. A connection
#: keeps its plans (``db.engine._replan_now_and_then``), and on a young database
#: (a new municipality, a load test) plans made while ``ledger_transfer``
#: or ``redemption`` held a few pages scanned them whole as they grew: the
#: key look-up and the checks of each posting's transfer cost more with every
#: redemption. The ledger's triggers do the same (migration 0010).
PG_INDEX_PROBES = b"SET LOCAL enable_seqscan = off"

_WHO_COLUMNS = (
    "user_id", "email", "role", "user_municipality_id", "municipality_code", "user_merchant_id", "token_id",
    "token_last_used_at",
)
_COLUMNS = (
    "id", "municipality_id", "status", "categories", "account_id", "payable_ledger", "payable_cached",
    "stored_id", "receipt_no", "amount_cents", "balance_after_cents", "strips_left", "created_at", "request_hash",
    "voucher_id", "voucher_pass_id", "voucher_municipality_id", "voucher_kind", "voucher_category",
    "voucher_account_id", "voucher_strip_value_cents", "voucher_valid_until", "voucher_ledger", "voucher_cached",
    "voucher_bindings", "voucher_bound_here",
    "pass_status", "pass_handle", "pass_code_hash", "pass_valid_from", "pass_valid_until",
)

_SELECT = """
  m.id, m.municipality_id, m.status, m.categories, pa.id, pa.ledger, pa.balance_cached,
  r.id, r.receipt_no, r.amount_cents, r.balance_after_cents, r.strips_left, r.created_at, r.request_hash,
  v.id, v.pass_id, v.municipality_id, v.kind, v.category, v.account_id, v.strip_value_cents, v.valid_until,
  va.ledger, va.balance_cached,
  (SELECT count(*) FROM voucher_binding b
    WHERE b.municipality_id = v.municipality_id AND b.voucher_code = v.code),
  (SELECT count(*) FROM voucher_binding b
    WHERE b.municipality_id = v.municipality_id AND b.voucher_code = v.code AND b.merchant_id = m.id),
  p.status, p.handle, p.code_hash, p.valid_from, p.valid_until"""

# The payable the redemption credits: the merchant's own, or, for a pass of
# another member of its cooperation, its payable in that member's partition
# (``cooperation_payable``, there while the merchant takes that member's
# passes). Found in the voucher's partition or not at all: that is the rule
# of whose passes a merchant takes (``redemptions._takes``).
_JOINS = """
  LEFT JOIN redemption r ON r.merchant_id = m.id AND r.idempotency_key = :key
  LEFT JOIN wallet_voucher v ON v.id = :voucher_id
  LEFT JOIN cooperation_payable cp ON cp.merchant_id = m.id AND cp.municipality_id = v.municipality_id
  LEFT JOIN ledger_account pa ON pa.id = COALESCE(cp.account_id, m.account_id)
  LEFT JOIN ledger_account va ON va.id = v.account_id
  LEFT JOIN wallet_pass p ON p.id = v.pass_id"""

# The same rule as access.tokens.lookup_token: a live token of an active
# user whose merchant (if any) is approved.
_BY_TOKEN = f"""SELECT
  u.id, u.email, u.role, u.municipality_id, mu.code, u.merchant_id, t.id, t.last_used_at,{_SELECT}{{lock}}
FROM access_token t
  JOIN access_user u ON u.id = t.user_id
  JOIN municipality mu ON mu.id = u.municipality_id
  LEFT JOIN merchant m ON m.id = u.merchant_id{_JOINS}
WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL AND u.active = {{true}}
  AND (u.merchant_id IS NULL OR m.status = 'approved')"""

_BY_MERCHANT = f"""SELECT{_SELECT}{{lock}}
FROM merchant m{_JOINS}
WHERE m.id = :merchant_id"""

# Held until the transaction ends, so a twin on another worker or host fails
# to take it and is told to retry. The id is the first 8 bytes of
# sha256("redeem:<schema>:<merchant id>:<key>"), signed. Advisory locks are
# per database, not per schema: the schema keeps two installations that share
# a database (or the test suite's parallel workers) from refusing each
# other's keys.
_PG_LOCK = (
    ",\n  pg_try_advisory_xact_lock(('x' || left(encode(sha256(convert_to("
    "'redeem:' || current_schema() || ':' || m.id || ':' || :key, 'UTF8')), 'hex'), 16))::bit(64)::bigint)"
)

# The guarded debit and its postings: no row from the guard, no postings.
_PG_DEBIT = """WITH debit AS (
  UPDATE ledger_account SET balance = balance - :amount
  WHERE id = :source AND balance_cached AND (NOT non_negative OR balance >= :amount)
  RETURNING balance
), legs AS (
  INSERT INTO ledger_posting (transfer_id, account_id, amount)
  SELECT :transfer_id, leg.account_id, leg.amount
  FROM debit CROSS JOIN (VALUES (1, :source::bigint, -:amount::bigint), (2, :destination::bigint, :amount::bigint))
    AS leg (n, account_id, amount)
  ORDER BY leg.n
)
SELECT balance FROM debit"""
_SQLITE_DEBIT = """UPDATE ledger_account SET balance = balance - :amount
WHERE id = :source AND balance_cached = 1 AND (non_negative = 0 OR balance >= :amount)
RETURNING balance"""
_SQLITE_POSTINGS = """INSERT INTO ledger_posting (transfer_id, account_id, amount)
VALUES (:transfer_id, :source, -:amount), (:transfer_id, :destination, :amount)"""
# Only for a payable that still keeps a cached balance (none since migration 0009).
_CREDIT = "UPDATE ledger_account SET balance = balance + :amount WHERE id = :destination"
_TRANSFER = """INSERT INTO ledger_transfer
  (id, ledger, kind, amount, reference, idempotency_key, fingerprint, reverses_id, created_at)
VALUES (:transfer_id, :ledger, :kind, :amount, :reference, NULL, :fingerprint, NULL, :created_at)"""
_REDEMPTION = """INSERT INTO redemption
  (municipality_id, merchant_id, pass_id, voucher_id, user_id, amount_cents, strips, balance_after_cents,
   strips_left, receipt_no, transfer_id, idempotency_key, request_hash, created_at)
SELECT :municipality_id, :merchant_id, :pass_id, :voucher_id, :user_id, :amount, :strips, a.balance,
  a.balance / :strip_value, :receipt_no, :transfer_id, :key, :request_hash, :created_at
FROM ledger_account a WHERE a.id = :source
RETURNING id, balance_after_cents, strips_left"""
# PostgreSQL: the sealing transfer row and the redemption in one statement
# (the redemption's key to the transfer is checked at its end). The postings
# cannot join them: their own trigger refuses postings of a transfer already
# written when its statement ends.
#
# Lock order (docs/ARCHITECTURE.md): voucher accounts, then the pass. A block
# or reissue locks the pass's voucher accounts before it changes the pass, so
# once the debit holds the voucher's account none is half done, and this
# statement, started after it, sees one that committed meanwhile. A pass no
# longer active leaves the receipt number NULL, which its NOT NULL refuses:
# the pipeline stops before its COMMIT, and ``redemptions`` reads the pass
# again for the refusal. No lock is taken on the pass (a shared one would let
# a stream of tills starve a block). SQLite's writers take turns: the context
# statement already read the pass under the write lock.
_PG_SEAL_AND_RECORD = """WITH seal AS (
  INSERT INTO ledger_transfer
    (id, ledger, kind, amount, reference, idempotency_key, fingerprint, reverses_id, created_at)
  VALUES (:transfer_id, :ledger, :kind, :amount, :reference, NULL, :fingerprint, NULL, :created_at)
  RETURNING id
)
INSERT INTO redemption
  (municipality_id, merchant_id, pass_id, voucher_id, user_id, amount_cents, strips, balance_after_cents,
   strips_left, receipt_no, transfer_id, idempotency_key, request_hash, created_at)
SELECT :municipality_id, :merchant_id, :pass_id, :voucher_id, :user_id, :amount, :strips, a.balance,
  a.balance / :strip_value::bigint, CASE WHEN p.status = 'active' THEN :receipt_no END, seal.id, :key,
  :request_hash, :created_at
FROM ledger_account a CROSS JOIN seal JOIN wallet_pass p ON p.id = :pass_id
WHERE a.id = :source
RETURNING id, balance_after_cents, strips_left"""
_TOUCH = """UPDATE access_token SET last_used_at = :now
WHERE id = :token_id AND (last_used_at IS NULL OR last_used_at < :touch_before)"""
# Wrong typed codes lately, of this merchant and of this till login among them
# (redemptions.check_typed_code_budget); then, only when refused, the moment
# of the failure whose ageing out lifts the limit (the limit-th newest).
_TYPED_FAILURES = """SELECT count(*), count(CASE WHEN till = :till THEN 1 END) FROM redeem_refusal
WHERE merchant_id = :merchant_id AND typed_code = {true} AND at >= :since"""
_TYPED_FAILURE_AT = """SELECT at FROM redeem_refusal
WHERE merchant_id = :merchant_id AND typed_code = {true} AND at >= :since{login}
ORDER BY at DESC LIMIT 1 OFFSET :skip"""


class Row(namedtuple("Row", _WHO_COLUMNS + _COLUMNS + ("locked",))):  # type: ignore[misc]  # a namedtuple of computed fields; the class body only declares their types
    """The context of one redemption, by attribute (like a SQLAlchemy row)."""

    __slots__ = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return self._asdict()

    if TYPE_CHECKING:
        # The columns are the names above, made at import: untyped, like a SQLAlchemy row's.
        def __getattr__(self, name: str) -> Any: ...


_NO_WHO = (None,) * len(_WHO_COLUMNS)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


_DATETIMES = tuple(Row._fields.index(n) for n in ("token_last_used_at", "created_at"))
_DATES = tuple(Row._fields.index(n) for n in ("voucher_valid_until", "pass_valid_from", "pass_valid_until"))
_BOOLS = tuple(Row._fields.index(n) for n in ("payable_cached", "voucher_cached"))


class Dialect:
    """The statements and value conversions of one database. On PostgreSQL
    the statements are prepared once per connection and sent several to a
    message (``db.Batch``); ``statements`` lists them all."""

    def __init__(self, *, postgresql: bool) -> None:
        pg = postgresql
        #: PostgreSQL's statements are prepared and sent several to a message
        #: (``db.Batch``); SQLite's run one at a time, each read at once.
        self.pipelined = pg
        lock = _PG_LOCK if pg else ",\n  1"
        truth = "true" if pg else "1"

        def statement(key: str, sql: str) -> Any:
            return Prepared(f"pasdienst_till_{key}", sql) if pg else sql

        self.by_token = statement("by_token", _BY_TOKEN.format(lock=lock, true=truth))
        self.by_merchant = statement("by_merchant", _BY_MERCHANT.format(lock=lock, true=truth))
        self.debit = statement("debit", _PG_DEBIT if pg else _SQLITE_DEBIT)
        self.postings = None if pg else _SQLITE_POSTINGS
        self.credit = statement("credit", _CREDIT)
        # PostgreSQL writes the transfer row with the redemption.
        self.transfer = None if pg else _TRANSFER
        self.redemption = statement("redemption", _PG_SEAL_AND_RECORD if pg else _REDEMPTION)
        self.touch = statement("touch", _TOUCH)
        self.typed_failures = statement("typed_failures", _TYPED_FAILURES.format(true=truth))
        self.typed_failure_at = {
            scope: statement(f"typed_failure_at_{scope}", _TYPED_FAILURE_AT.format(true=truth, login=login))
            for scope, login in (("login", " AND till = :till"), ("merchant", ""))
        }
        # Prepared with a till's first transaction on a connection; the rest
        # (the credit, for a payable that still keeps a cached balance; when a
        # typed code is refused, the moment it may be typed again) when used.
        self.statements: tuple[Prepared, ...] = (
            (self.by_token, self.by_merchant, self.debit, self.redemption, self.touch, self.typed_failures) if pg else ()
        )

    def row(self, raw: tuple | None, by_token: bool) -> Row | None:
        if raw is None:
            return None
        values = list(raw) if by_token else [*_NO_WHO, *raw]
        if not self.pipelined:  # sqlite3 hands back dates as text and booleans as 0 and 1
            for i in _DATES:
                values[i] = _day(values[i])
            for i in _BOOLS:
                values[i] = None if values[i] is None else bool(values[i])
        for i in _DATETIMES:
            values[i] = _utc(values[i])
        return Row(*values)

    def value(self, v: Any) -> Any:
        """A parameter as this driver stores it (SQLAlchemy's own conventions:
        on SQLite a UUID is 32 hex digits and a moment naive UTC text)."""
        if self.pipelined:
            return v
        if isinstance(v, uuid.UUID):
            return v.hex
        if isinstance(v, datetime):
            return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
        return v


DIALECTS = PerDialect(sqlite=Dialect(postgresql=False), postgresql=Dialect(postgresql=True))

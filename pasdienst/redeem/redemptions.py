"""Scanning a pass and taking money from it at a merchant.

Design overview
---------------
A redemption is one database transaction: the pass and voucher are
resolved, the merchant's right to take the voucher checked, and the ledger
moves the cents from the voucher's account to the merchant's payable through
the guarded update that is at once the balance check and the debit. The
redemption row, its transfer and its receipt number are written together, so
a crash leaves all or nothing.

The merchant's phone sends an ``Idempotency-Key`` with every redemption. The
same key with the same body returns the stored answer and moves nothing; the
same key with another body is refused; a twin request still being processed
gets ``request_in_progress`` (a PostgreSQL advisory lock, and a per-process
guard for SQLite, whose writers queue behind ``BEGIN IMMEDIATE`` anyway).
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.errors import Forbidden, Unauthenticated
from ..access.policy import Actor
from ..access.tokens import TOKEN_TOUCH_INTERVAL, touch_token
from ..clock import day_bounds_utc, now_utc
from ..clock import now as clock_now
from ..config import Settings
from ..cooperations.models import CooperationPayable
from ..settlement import claims as settlement_claims
from ..db import Database, driver_of, rowcount, violated_constraint
from ..errors import NotFound, PasdienstError, ValidationFailed
from ..wallet import codes, tokens
from ..wallet.errors import InvalidCode, PassExpired, unknown_pass
from ..wallet.lifecycle import follow_child
from ..wallet.models import ChildPass, Voucher
from ..wallet.services import check_usable, resolve_pass
from .errors import (
    IdempotencyKeyReused,
    InsufficientBalance,
    NotAcceptedHere,
    RateLimited,
    RequestInProgress,
    VoidWindowClosed,
)
from . import tillsql
from ..merchants.models import Merchant, VoucherBinding
from .models import Redemption, Refusal

RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class VoucherView:
    id: int
    kind: str
    category: str
    balance_cents: int
    strips_left: int | None
    valid_until: date
    #: The scheme's code of a punch card or cheque (``zwemmen``); None for a budget.
    code: str | None = None


@dataclass(frozen=True)
class ScanResult:
    pass_id: str  # the pass number (KP-2027-000123), never the row id
    first_name: str
    age: int
    vouchers: list[VoucherView]


@dataclass(frozen=True)
class RedemptionResult:
    id: int
    receipt_no: str
    amount_cents: int
    balance_after_cents: int
    strips_left: int | None
    created_at: datetime
    replayed: bool = False


# -- who may take what ---------------------------------------------------------

def merchant_of(session: Session, actor: Actor) -> Merchant:
    if actor.role != "merchant" or actor.merchant_id is None:
        raise Forbidden("only a merchant can scan and redeem passes")
    merchant = session.get(Merchant, actor.merchant_id)
    if merchant is None or not merchant.approved:
        raise Forbidden("this merchant is not approved to take passes")
    return merchant


def _bindings(session: Session, municipality_id: int) -> dict[str, set[int]]:
    rows = session.execute(
        select(VoucherBinding.voucher_code, VoucherBinding.merchant_id).where(
            VoucherBinding.municipality_id == municipality_id
        )
    )
    bound: dict[str, set[int]] = {}
    for code, merchant_id in rows:
        bound.setdefault(code, set()).add(merchant_id)
    return bound


def _takes(takes_passes: bool, categories: frozenset[str], category: str, binding_allows: bool) -> bool:
    """The rule: a voucher of a municipality whose passes the merchant takes
    (its own; or, once admitted to its municipality's cooperation, those of
    every active member: it then has a payable in that member's ledger
    partition, ``payable_for``), of one of its categories, and, when the
    voucher's code is bound to named merchants (by the pass's municipality),
    one of them."""
    return takes_passes and category in categories and binding_allows


def payable_for(session: Session, merchant: Merchant, municipality_id: int) -> int | None:
    """The payable ``merchant`` credits for a pass of ``municipality_id``: its
    own for its own municipality, its payable in a fellow member's partition
    while it takes that member's passes, otherwise None (it does not)."""
    if municipality_id == merchant.municipality_id:
        return merchant.account_id
    return session.execute(
        select(CooperationPayable.account_id).where(
            CooperationPayable.merchant_id == merchant.id, CooperationPayable.municipality_id == municipality_id
        )
    ).scalar()


def accepts(merchant: Merchant, voucher: Voucher, bindings: dict[str, set[int]], takes_passes: bool) -> bool:
    bound = bindings.get(voucher.code or "")
    return _takes(takes_passes, merchant.category_set, voucher.category, bound is None or merchant.id in bound)


def _strips_left(kind: str, strip_value_cents: int | None, balance: int) -> int | None:
    if kind != "punchcard" or not strip_value_cents:
        return None
    return balance // strip_value_cents


# -- scan ----------------------------------------------------------------------

def scan(session: Session, actor: Actor, code: str, *, settings: Settings, today: date) -> ScanResult:
    """What this merchant may take from the pass behind ``code``: first name,
    age and the acceptable vouchers; nothing else about the child."""
    merchant = merchant_of(session, actor)
    child_pass = resolve_pass(session, code, settings=settings, today=today)
    if payable_for(session, merchant, child_pass.municipality_id) is None:
        raise NotAcceptedHere("this pass is not valid at this merchant")
    # Bindings are the pass's municipality's: which of its punch cards and
    # cheques only named merchants take.
    bindings = _bindings(session, child_pass.municipality_id)
    views = []
    for voucher in child_pass.vouchers:
        if not accepts(merchant, voucher, bindings, True) or voucher.valid_until < today:
            continue
        balance = ledger.balance(session, voucher.account_id)
        views.append(
            VoucherView(
                voucher.id, voucher.kind, voucher.category, balance,
                _strips_left(voucher.kind, voucher.strip_value_cents, balance), voucher.valid_until,
                voucher.code if voucher.kind != "budget" else None,
            )
        )
    return ScanResult(child_pass.pass_number, child_pass.child.first_name, child_pass.child.age_on(today), views)


# -- redeem --------------------------------------------------------------------
#
# The hot path. Its statements are written out per dialect for the bare
# driver (``tillsql.py``) and folded into as few round trips as the rules
# allow: who is asking (the API token, resolved in the same statement), the
# merchant, a stored answer for the key, the voucher, its bindings and
# accounts, its pass and (PostgreSQL) the key's advisory lock in one
# statement, the scanned code checked against that pass in memory (its MAC
# or hash computed before the transaction); then the write tail, pipelined
# with the COMMIT on PostgreSQL. On SQLite every statement runs under the
# write lock, so fewer and cheaper statements are more payments per second
# for all tills (scripts/bench_redeem.py, docs/benchmarks.md).

_in_flight: set[tuple[int, str]] = set()
_in_flight_lock = threading.Lock()


@dataclass
class Caller:
    """Who is redeeming: an API token not yet looked up (``token_hash``, its
    SHA-256), or the actor of a session. The redemption's first statement
    resolves a token; ``actor`` then holds who it was (for the log line and
    the refusal log), also when the redemption is refused."""

    token_hash: str | None = None
    actor: Actor | None = None
    token_id: int | None = None
    token_last_used_at: datetime | None = None
    #: The till login (``access.web.till_login``) its wrong typed codes count for.
    till: str | None = None

    def token_needs_touch(self, now: datetime) -> bool:
        return self.token_id is not None and (
            self.token_last_used_at is None or self.token_last_used_at < now - TOKEN_TOUCH_INTERVAL
        )



#: The pass as it is now (see "lock order" in ``tillsql``).
_PASS_NOW = select(ChildPass.status, ChildPass.valid_from, ChildPass.valid_until).where(ChildPass.id == bindparam("pass_id"))


@contextmanager
def _claim(merchant_id: int, key: str) -> Iterator[None]:
    """Refuse a twin of a request that this process is still working on
    (across processes, PostgreSQL's advisory lock in ``_context``
    does it; SQLite's writers queue behind ``BEGIN IMMEDIATE`` anyway)."""
    token = (merchant_id, key)
    with _in_flight_lock:
        if token in _in_flight:
            raise RequestInProgress("a request with this Idempotency-Key is still being processed; retry shortly")
        _in_flight.add(token)
    try:
        yield
    finally:
        with _in_flight_lock:
            _in_flight.discard(token)


def _context(conn: Any, dialect: tillsql.Dialect, caller: Caller, key: str, voucher_id: int) -> tillsql.Row | None:
    """The one statement before any money moves (``tillsql``); on PostgreSQL
    it also takes the key's lock (``locked``)."""
    params = {"key": key, "voucher_id": voucher_id}
    if caller.token_hash is not None:
        return dialect.row(_one(conn.execute(dialect.by_token, {**params, "token_hash": caller.token_hash})), True)
    assert caller.actor is not None
    return dialect.row(_one(conn.execute(dialect.by_merchant, {**params, "merchant_id": caller.actor.merchant_id})), False)


def _one(cursor: Any) -> tuple | None:
    # Read to the end: sqlite3 cannot commit while a statement is unfinished.
    rows = cursor.fetchall()
    return rows[0] if rows else None


def _admit(found: tillsql.Row | None, caller: Caller) -> tillsql.Row:
    """The access rules of ``@requires("merchant")`` for a token resolved in
    the context statement, then the merchant's own state; the context admitted."""
    if caller.token_hash is not None:
        if found is None:
            raise Unauthenticated("unknown or revoked API token")
        caller.actor = Actor(
            found.user_id, found.email, found.role, found.user_municipality_id, found.municipality_code,
            found.user_merchant_id,
        )
        caller.token_id, caller.token_last_used_at = found.token_id, found.token_last_used_at
        if caller.actor.role != "merchant":
            raise Forbidden(f"a {caller.actor.role} may not use this")
    if found is None or found.status != "approved":
        raise Forbidden("this merchant is not approved to take passes")
    if not found.locked:
        raise RequestInProgress("a request with this Idempotency-Key is still being processed; retry shortly")
    return found


@dataclass(frozen=True)
class _PassState:
    status: str
    valid_from: date
    valid_until: date


def _check_pass_now(session: Session, pass_id: int, today: date) -> None:
    """Refuse, as ``check_usable`` does, a pass blocked or replaced while this
    redemption waited for its voucher's account . SQLite's
    write lock, held since ``BEGIN IMMEDIATE``, already keeps a block or
    reissue out: ``_CONTEXT`` read the pass current there, and the till
    asks only on PostgreSQL."""
    row = session.connection().execute(_PASS_NOW, {"pass_id": pass_id}).one()
    check_usable(_PassState(row.status, row.valid_from, row.valid_until), today)  # type: ignore[arg-type]  # the pass's state read by one statement, not a loaded ChildPass (the hot path loads no ORM row)


@dataclass(frozen=True)
class _Code:
    """What a scanned code says, worked out before the transaction: the
    handle of a QR token whose MAC verifies, the lookup hashes of a typed
    code, or the ``InvalidCode`` of a forged QR or of text that is no code
    at all (raised where the rules put it, after the access checks)."""

    handle: str | None = None
    hashes: frozenset[str] = frozenset()
    error: Exception | None = None
    typed: bool = False

    @classmethod
    def of(cls, settings: Settings, code: str) -> _Code:
        text = (code or "").strip()
        token = tokens.extract_token(text)
        if token is not None:
            try:
                return cls(handle=tokens.verify_token(settings, token))
            except PasdienstError as exc:
                return cls(error=exc)
        if not codes.looks_like_typed_code(text):
            return cls(error=InvalidCode("this is not a pass code"))
        return cls(hashes=frozenset(codes.lookup_hashes(settings, codes.normalise(text))), typed=True)

    def names(self, handle: str, code_hash: str) -> bool:
        """Whether the code names the pass generation with this handle and
        code hash, without a query. A forged, mistyped or malformed code
        raises ``InvalidCode`` as ``resolve_pass`` would."""
        if self.error is not None:
            raise self.error
        if self.handle is not None:
            return self.handle == handle
        return code_hash in self.hashes


def request_hash(code: str, voucher_id: int, amount_cents: int | None, strips: int | None) -> str:
    body = {"code": code.strip(), "voucher_id": voucher_id, "amount_cents": amount_cents, "strips": strips}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _receipt_no() -> str:
    # 40 random bits, 5 to a character of the 32: one system call, not eight.
    bits = int.from_bytes(secrets.token_bytes(5), "big")
    raw = "".join(RECEIPT_ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"{raw[:4]}-{raw[4:]}"


@dataclass(frozen=True)
class _Request:
    code: _Code
    raw_code: str
    voucher_id: int
    amount_cents: int | None
    strips: int | None
    key: str
    fingerprint: str
    today: date
    now: datetime


def _request(
    code: str, voucher_id: int, amount_cents: int | None, strips: int | None, idempotency_key: str,
    settings: Settings, today: date, now: datetime | None,
) -> _Request:
    if (amount_cents is None) == (strips is None):
        raise ValidationFailed("give either amount_cents or strips", errors={"amount_cents": ["give amount_cents or strips"]})
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise ValidationFailed("the Idempotency-Key header is required (1 to 200 characters)")
    return _Request(
        _Code.of(settings, code), code, voucher_id, amount_cents, strips, key,
        request_hash(code, voucher_id, amount_cents, strips),
        # Stamped on the service's "today" (PASDIENST_TODAY in demos and tests).
        today, now or clock_now(today),
    )


#: What a redemption answers once its transaction has ended (on PostgreSQL the
#: write tail's results arrive with the COMMIT).
Answer = Callable[[], RedemptionResult]


def _redeem_on(conn: Any, dialect: tillsql.Dialect, caller: Caller, req: _Request, *, pipelined: bool) -> Answer:
    """The redemption on a driver connection whose transaction is open.
    ``pipelined``: the statements after the context go out with the COMMIT,
    when the caller's block ends (``Database.driver``)."""
    found = _admit(_context(conn, dialect, caller, req.key, req.voucher_id), caller)
    with _claim(found.id, req.key):
        if found.stored_id is not None:
            if found.request_hash != req.fingerprint:
                raise IdempotencyKeyReused("this Idempotency-Key was already used for a different redemption")
            stored = RedemptionResult(
                found.stored_id, found.receipt_no, found.amount_cents, found.balance_after_cents,
                found.strips_left, found.created_at, True,
            )
            return lambda: stored

        if found.voucher_id is None:
            raise ValidationFailed("no such voucher", errors={"voucher_id": ["no such voucher"]})
        if req.code.typed:
            _typed_code_budget(conn, dialect, found.id, caller.till, now_utc())
        # A code of any other pass (another child's, or the replaced one of a
        # reissue) is refused exactly as an unknown code, with no look-up of
        # it: nothing in the answer or the work done says that it is real.
        if not req.code.names(found.pass_handle, found.pass_code_hash):
            raise unknown_pass()
        check_usable(_PassState(found.pass_status, found.pass_valid_from, found.pass_valid_until), req.today)  # type: ignore[arg-type]  # as above: the state from the context row
        categories = frozenset(c for c in found.categories.split(",") if c)
        may_take = _takes(
            # The payable the context found is in the voucher's partition: the
            # merchant's own municipality, or a member whose passes it takes.
            found.payable_ledger is not None and found.payable_ledger == found.voucher_ledger,
            categories, found.voucher_category, found.voucher_bindings == 0 or found.voucher_bound_here > 0,
        )
        if not may_take:
            raise NotAcceptedHere("this voucher cannot be spent at this merchant")
        if found.voucher_valid_until < req.today:
            raise PassExpired("this voucher is no longer valid")
        if req.strips is not None:
            if found.voucher_kind != "punchcard":
                raise ValidationFailed("strips can only be taken from a punch card", errors={"strips": ["not a punch card"]})
            amount = req.strips * int(found.voucher_strip_value_cents or 0)
        else:
            if found.voucher_kind == "punchcard":
                raise ValidationFailed("a punch card takes strips, not an amount", errors={"amount_cents": ["use strips"]})
            amount = int(req.amount_cents or 0)
        return _write(conn, dialect, caller, req, found, amount, pipelined=pipelined)


class _Refused(Exception):
    """The guard refused the debit (``account`` holds too little)."""

    def __init__(self, account: int, amount: int, pass_id: int) -> None:
        self.account, self.amount, self.pass_id = account, amount, pass_id


def _write(
    conn: Any, dialect: tillsql.Dialect, caller: Caller, req: _Request, found: Any, amount: int, *, pipelined: bool
) -> Answer:
    """The ledger transfer (voucher -> the merchant's payable) and the
    redemption row: the guarded debit, two postings, the sealing transfer
    row, the redemption; the rules of ``ledger.post`` for one transfer."""
    source, destination = found.voucher_account_id, found.account_id
    if destination is None or found.voucher_ledger is None or found.payable_ledger is None:
        raise ledger.UnknownAccount(f"unknown account {destination if found.voucher_ledger else source}")
    if found.voucher_ledger != found.payable_ledger:
        raise ledger.InvalidTransfer(f"a transfer cannot cross ledgers ({found.voucher_ledger}, {found.payable_ledger})")
    if not found.voucher_cached:
        raise ledger.InvalidTransfer(f"account {source}: a voucher account keeps a cached balance")
    move = ledger.NewTransfer.move(books.REDEEM, source, destination, amount, reference=f"merchant {found.id}")
    strip_value = found.voucher_strip_value_cents if found.voucher_kind == "punchcard" else None
    value = dialect.value
    receipt_no = _receipt_no()
    params = {
        "amount": amount, "source": source, "destination": destination, "transfer_id": value(uuid.uuid4()),
        "ledger": found.voucher_ledger, "kind": move.kind, "reference": move.reference,
        "fingerprint": move.fingerprint(), "created_at": value(req.now),
        # The pass's municipality, whose fund pays (and settles) it, also at a
        # merchant of another member of its cooperation.
        "municipality_id": found.voucher_municipality_id, "merchant_id": found.id, "pass_id": found.voucher_pass_id,
        "voucher_id": req.voucher_id, "user_id": caller.actor.user_id if caller.actor else None,
        "strips": req.strips, "strip_value": strip_value or None, "receipt_no": receipt_no, "key": req.key,
        "request_hash": req.fingerprint,
    }
    touch = caller.token_needs_touch(req.now)
    if touch:
        params.update(now=value(req.now), token_id=caller.token_id, touch_before=value(req.now - TOKEN_TOUCH_INTERVAL))
    # A payable that still keeps a cached balance (none since migration 0009)
    # is credited too, the two rows locked in ascending id order.
    if found.payable_cached and destination < source:
        conn.execute(dialect.credit, params)
    debit = conn.execute(dialect.debit, params)
    if not pipelined and _one(debit) is None:
        raise _Refused(source, amount, found.voucher_pass_id)
    _debited(conn, debit)
    if found.payable_cached and destination > source:
        conn.execute(dialect.credit, params)
    if dialect.postings is not None:
        conn.execute(dialect.postings, params)
    if dialect.transfer is not None:
        conn.execute(dialect.transfer, params)
    try:
        written = conn.execute(dialect.redemption, params)
        fetched = None if pipelined else _one(written)
    except Exception as exc:
        if _pass_changed(exc):
            raise _PassChanged(found.voucher_pass_id) from exc
        raise _twin(exc) from None
    if touch:
        conn.execute(dialect.touch, params)

    def answer() -> RedemptionResult:
        redemption_id, balance_after, strips_left = fetched if fetched is not None else written.fetchone()
        return RedemptionResult(redemption_id, receipt_no, amount, balance_after, strips_left, req.now, False)

    answer.refused = _Refused(source, amount, found.voucher_pass_id)  # type: ignore[attr-defined]  # the write tail's refusal travels on the closure, no object built per redemption
    return answer


class _PassChanged(Exception):
    """The pass was blocked or replaced while the debit waited for its
    voucher's account (``tillsql``: lock order): read it again to say why."""

    def __init__(self, pass_id: int) -> None:
        self.pass_id = pass_id


def _pass_changed(exc: Exception) -> bool:
    diag = getattr(exc, "diag", None)
    return getattr(exc, "sqlstate", None) == "23502" and getattr(diag, "column_name", None) == "receipt_no"


def _debited(conn: Any, debit: Any) -> None:
    """The debit is sent (on PostgreSQL its result may still be on the way).
    Nothing to do: the seam where tests hold a till that has debited
    (``tests/redeem/test_reissue_race.py``)."""


#: The unique keys a twin's commit makes this attempt violate: the redemption's key per
#: merchant, or the ledger transfer's idempotency key (``db.violated_constraint`` names them).
_KEY_CONSTRAINTS = frozenset({"uq_redemption_merchant_id_idempotency_key", "uq_ledger_transfer_idempotency_key"})


def _twin(exc: Exception) -> Exception:
    """A unique violation of the key: a twin committed between our look-up's
    snapshot and taking its lock. This attempt rolls back whole, and a retry
    reads the twin's answer."""
    if violated_constraint(exc) in _KEY_CONSTRAINTS:
        return RequestInProgress("a request with this Idempotency-Key was just processed; retry to read it")
    return exc


def _insufficient(balance: int, amount: int) -> InsufficientBalance:
    return InsufficientBalance(f"the voucher holds {balance} cents, {amount} requested", balance_cents=balance)


def redeem(
    session: Session,
    actor: Actor,
    *,
    code: str,
    voucher_id: int,
    amount_cents: int | None = None,
    strips: int | None = None,
    idempotency_key: str,
    settings: Settings,
    today: date,
    now: datetime | None = None,
) -> RedemptionResult:
    """Take ``amount_cents`` (or ``strips`` of a punch card) from a voucher,
    in the caller's transaction.

    The same ``idempotency_key`` with the same request returns the stored
    answer (``replayed``) and moves nothing. Raises ``Forbidden`` (not an
    approved merchant), ``RequestInProgress`` (a twin is still running),
    ``IdempotencyKeyReused``, ``ValidationFailed``, ``InvalidCode``,
    ``PassBlocked``, ``PassExpired``, ``NotAcceptedHere``,
    ``InsufficientBalance`` and ``RateLimited`` (too many wrong typed
    codes). The till's API uses :func:`redeem_now`, which
    also commits.
    """
    if actor.role != "merchant" or actor.merchant_id is None:
        raise Forbidden("only a merchant can scan and redeem passes")
    req = _request(code, voucher_id, amount_cents, strips, idempotency_key, settings, today, now)
    conn = session.connection()
    dialect = tillsql.DIALECTS.of(conn)
    try:
        return _redeem_on(driver_of(conn), dialect, Caller(actor=actor), req, pipelined=False)()
    except _Refused as refused:
        raise _insufficient(ledger.balance(session, refused.account), refused.amount) from None


def redeem_now(
    db: Database,
    caller: Caller,
    *,
    code: str,
    voucher_id: int,
    amount_cents: int | None = None,
    strips: int | None = None,
    idempotency_key: str,
    settings: Settings,
    today: date,
    now: datetime | None = None,
) -> RedemptionResult:
    """:func:`redeem` in a transaction of its own, committed here (on
    PostgreSQL the write tail goes out with the COMMIT), for a caller that
    may still be an unresolved API token (``caller.actor`` is filled in).
    Raises what :func:`redeem` raises, and ``Unauthenticated`` for an
    unknown, revoked or blocked token, ``Forbidden`` for a token of another
    role."""
    if caller.actor is not None and (caller.actor.role != "merchant" or caller.actor.merchant_id is None):
        raise Forbidden("only a merchant can scan and redeem passes")
    req = _request(code, voucher_id, amount_cents, strips, idempotency_key, settings, today, now)
    dialect = tillsql.DIALECTS.of(db.engine)
    pipelined = dialect.pipelined
    answer: Answer | None = None
    try:
        with db.driver(dialect.statements) as conn:
            if pipelined:
                conn.command(tillsql.PG_INDEX_PROBES)
            answer = _redeem_on(conn, dialect, caller, req, pipelined=pipelined)
    except _Refused as refused:  # SQLite: the debit was read before going on
        with db.read() as session:
            raise _insufficient(ledger.balance(session, refused.account), refused.amount) from None
    except _PassChanged as changed:
        with db.read() as session:
            _check_pass_now(session, changed.pass_id, today)
        raise
    except Exception as exc:
        if answer is None or not pipelined or not isinstance(exc, db.engine.dialect.loaded_dbapi.Error):
            raise
        twin = _twin(exc)
        if twin is not exc:
            raise twin from None
        guarded: _Refused | None = getattr(answer, "refused", None)
        if guarded is None:
            raise
        with db.read() as session:
            # Blocked or reissued while the debit waited for the account: the
            # redemption's own statement refused it (tillsql: lock order), or
            # a reissue moved the balance away. Say why.
            _check_pass_now(session, guarded.pass_id, today)
            balance = ledger.balance(session, guarded.account)
        # The guard refused the debit: no postings were written, and the
        # transfer row's trigger refused a transfer without them.
        if balance < guarded.amount:
            raise _insufficient(balance, guarded.amount) from None
        raise
    return answer()


# -- void ----------------------------------------------------------------------

def void(session: Session, actor: Actor, redemption_id: int, *, today: date, now: datetime | None = None) -> Redemption:
    """Undo a redemption the same day, by a reversal transfer; the money
    follows the child to the current pass (``wallet.lifecycle.follow_child``)."""
    merchant = merchant_of(session, actor)
    # Locked (PostgreSQL), so a twin void waits here and then sees it voided.
    # NO KEY UPDATE: a settlement batch claiming the row only needs KEY SHARE.
    redemption = session.get(Redemption, redemption_id, with_for_update={"key_share": True})
    if redemption is None or redemption.merchant_id != merchant.id:
        raise NotFound("no such redemption at this merchant")
    if redemption.voided_at is not None:
        return redemption  # voiding twice is a harmless retry
    start, end = day_bounds_utc(today)
    if not (start <= redemption.created_at < end):
        raise VoidWindowClosed("a redemption can be voided only on the day it was made")
    # Shared: waits for a settlement batch being made right now, so the
    # check below sees its claims (pasdienst/settlement/claims.py).
    settlement_claims.lock_municipality(session, redemption.municipality_id, shared=True)
    if settlement_claims.batch_of(session, redemption.id) is not None:
        raise VoidWindowClosed("this redemption is already in a settlement batch")
    reversal = ledger.reverse(
        session, redemption.transfer_id, reference=f"void {redemption.receipt_no}", now=now or clock_now(today)
    )
    moment = reversal.created_at
    # Onto the child's current pass, should this one have been reissued.
    follow_child(
        session, redemption.voucher_id, redemption.amount_cents, reference=f"void {redemption.receipt_no}", now=moment
    )
    # Guarded against a second void; a batch cannot take it meanwhile (the lock above).
    done = rowcount(session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.voided_at.is_(None))
        .values(voided_at=moment, void_transfer_id=reversal.id, voided_by_user_id=actor.user_id)
        .execution_options(synchronize_session=False)
    ))
    if done != 1:
        raise VoidWindowClosed("this redemption was voided or settled meanwhile")
    session.refresh(redemption)
    return redemption


@dataclass(frozen=True)
class DayLine:
    id: int
    receipt_no: str
    created_at: datetime
    amount_cents: int
    strips: int | None
    kind: str
    category: str
    voided: bool
    can_void: bool


def day_redemptions(session: Session, actor: Actor, *, day: date, today: date) -> list[DayLine]:
    """One merchant's redemptions of one day, newest first (the till's list)."""
    merchant = merchant_of(session, actor)
    start, end = day_bounds_utc(day)
    rows = session.execute(
        select(Redemption, Voucher.kind, Voucher.category)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .where(Redemption.merchant_id == merchant.id, Redemption.created_at >= start, Redemption.created_at < end)
        .order_by(Redemption.id.desc())
    ).all()
    in_batch = settlement_claims.claimed(session, (r.id for r, _, _ in rows))
    return [
        DayLine(
            r.id,
            r.receipt_no,
            r.created_at,
            r.amount_cents,
            r.strips,
            kind,
            category,
            r.voided_at is not None,
            day == today and r.voided_at is None and r.id not in in_batch,
        )
        for r, kind, category in rows
    ]


# -- refusals and the typed-code limits ------------------------------------------
#
# Wrong typed codes are counted in the database (``redeem_refusal``), so the
# limits hold across workers and hosts: per till login (its login session or
# API token), so a careless till locks out only itself, and per merchant, a
# higher ceiling over all its tills together, so that many logins cannot add
# up to many guesses. QR codes are never held back: the limits are on guessing.

TYPED_CODES_PER_LOGIN = 10
TYPED_CODES_PER_MERCHANT = 30
TYPED_CODE_WINDOW = timedelta(minutes=10)


#: Answers that say "not now" rather than "no": a retry may well succeed, so
#: they are no refusal of the pass or the code and are not logged.
_NOT_REFUSALS = frozenset({"rate_limited", "request_in_progress"})


def log_refusal(
    db: Database, caller: Caller, exc: BaseException, *, action: str, typed: bool, remote_addr: str | None,
) -> bool:
    """Log a refused scan, redemption or void (who, when, why; never the code)
    in a transaction of its own, after the refused one rolled back; returns
    whether it was a wrong typed code (the address's limit counts those).

    Only a merchant's refusals are logged: an unknown token or another
    role's was turned away before it was anyone's till, and a failure of the
    service itself (5xx) or a "not now" is no refusal. ``caller`` is who
    asked, as the redemption resolved it; a token whose ``last_used_at`` is
    due is touched here, as the redemption would have done.
    """
    if not isinstance(exc, PasdienstError) or exc.status >= 500 or exc.code in _NOT_REFUSALS:
        return False
    actor = caller.actor
    if actor is None or actor.role != "merchant":
        return False
    wrong_code = typed and exc.code == "invalid_code"
    touch = caller.token_id if caller.token_needs_touch(now_utc()) else None
    with db.transaction() as session:
        session.add(Refusal(
            merchant_id=actor.merchant_id, user_id=actor.user_id, action=action, reason=exc.code,
            typed_code=wrong_code, remote_addr=remote_addr, till=caller.till,
        ))
        if touch is not None:
            touch_token(session, touch)
    return wrong_code


def _typed_code_budget(conn: Any, dialect: tillsql.Dialect, merchant_id: int, till: str | None, now: datetime) -> None:
    """Raise ``RateLimited`` while the till login or the merchant has typed
    too many wrong codes in the window; on the driver connection ``conn``
    (the redemption's own, or a session's). Its ``limit`` says which limit
    (``login`` or ``merchant``), ``retry_after`` the seconds until typing
    works again there: when the failure that tipped it ages out."""
    params = {"merchant_id": merchant_id, "since": dialect.value(now - TYPED_CODE_WINDOW), "till": till or ""}
    merchant_failures, login_failures = _one(conn.execute(dialect.typed_failures, params))  # type: ignore[misc]  # an aggregate: always one row
    waits = [
        (_typed_codes_wait(conn, dialect, scope, {**params, "skip": allowed - 1}, now), scope)
        for scope, failures, allowed in (
            ("login", login_failures, TYPED_CODES_PER_LOGIN), ("merchant", merchant_failures, TYPED_CODES_PER_MERCHANT),
        )
        if failures >= allowed
    ]
    if waits:
        seconds, scope = max(waits)
        raise RateLimited(
            f"too many wrong codes typed ({'at this till login' if scope == 'login' else 'at this merchant'}); "
            f"typing works again in {seconds} s, scanning the QR code works now",
            retry_after=seconds, limit=scope,
        )


def _typed_codes_wait(conn: Any, dialect: tillsql.Dialect, scope: str, params: dict[str, Any], now: datetime) -> int:
    row = _one(conn.execute(dialect.typed_failure_at[scope], params))
    moment = tillsql._utc(row[0]) if row else None
    if moment is None:  # aged out meanwhile
        return 1
    return max(1, math.ceil((moment + TYPED_CODE_WINDOW - now).total_seconds()))


def check_typed_code_budget(session: Session, actor: Actor, *, till: str | None = None, now: datetime | None = None) -> None:
    """Refuse typed-code look-ups once this till login or its merchant has
    typed too many wrong codes lately (``RateLimited``, with ``limit`` and
    ``retry_after``). ``till``: the login (``access.web.till_login``)."""
    if actor.merchant_id is None:
        raise Forbidden("only a merchant can scan and redeem passes")
    conn = session.connection()
    _typed_code_budget(driver_of(conn), tillsql.DIALECTS.of(conn), actor.merchant_id, till, now or now_utc())

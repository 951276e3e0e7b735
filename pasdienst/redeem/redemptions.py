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
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.errors import Forbidden
from ..access.services import Actor
from ..clock import day_bounds_utc, now_utc
from ..clock import now as clock_now
from ..config import Settings
from ..settlement import claims as settlement_claims
from ..errors import NotFound, ValidationFailed
from ..wallet import codes, tokens
from ..wallet.errors import InvalidCode, PassExpired, unknown_pass
from ..wallet.lifecycle import follow_child
from ..wallet.models import ACTIVE, ChildPass, Voucher
from ..wallet.services import check_usable, resolve_pass
from .errors import (
    IdempotencyKeyReused,
    InsufficientBalance,
    NotAcceptedHere,
    RateLimited,
    RequestInProgress,
    VoidWindowClosed,
)
from .models import Merchant, Redemption, Refusal, VoucherBinding

RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class VoucherView:
    id: int
    kind: str
    category: str
    balance_cents: int
    strips_left: int | None
    valid_until: date


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


def _takes(
    municipality_id: int, categories: frozenset[str], voucher_municipality_id: int, category: str, binding_allows: bool
) -> bool:
    """The rule: a voucher of the merchant's own municipality, of one of its
    categories, and, when the voucher's code is bound to named merchants, one of them."""
    return voucher_municipality_id == municipality_id and category in categories and binding_allows


def accepts(merchant: Merchant, voucher: Voucher, bindings: dict[str, set[int]]) -> bool:
    bound = bindings.get(voucher.code or "")
    return _takes(
        merchant.municipality_id, merchant.category_set, voucher.municipality_id, voucher.category,
        bound is None or merchant.id in bound,
    )


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
    if child_pass.municipality_id != merchant.municipality_id:
        raise NotAcceptedHere("this pass is not valid at this merchant")
    bindings = _bindings(session, merchant.municipality_id)
    views = []
    for voucher in child_pass.vouchers:
        if not accepts(merchant, voucher, bindings) or voucher.valid_until < today:
            continue
        balance = ledger.balance(session, voucher.account_id)
        views.append(
            VoucherView(
                voucher.id, voucher.kind, voucher.category, balance,
                _strips_left(voucher.kind, voucher.strip_value_cents, balance), voucher.valid_until,
            )
        )
    return ScanResult(child_pass.pass_number, child_pass.child.first_name, child_pass.child.age_on(today), views)


# -- redeem --------------------------------------------------------------------
#
# The hot path. Its statements are prebuilt Core run on the session's
# connection (as the ledger's are), and the work is folded into as few round
# trips as the rules allow: the merchant, a stored answer for the key, the
# voucher, its bindings, its pass and (PostgreSQL) the key's advisory lock
# in one statement, the scanned code checked against that pass in memory;
# then the ledger transfer and the redemption row. On
# SQLite every statement runs under the write lock, so fewer and cheaper
# statements are more payments per second for all tills
# (scripts/bench_redeem.py, docs/benchmarks.md).

_in_flight: set[tuple[int, str]] = set()
_in_flight_lock = threading.Lock()

_merchants = Merchant.__table__
_redemptions = Redemption.__table__
_vouchers = Voucher.__table__
_passes = ChildPass.__table__
_bindings_table = VoucherBinding.__table__


def _binding_count(*extra: object) -> object:
    return (
        select(func.count())
        .select_from(_bindings_table)
        .where(
            _bindings_table.c.municipality_id == _vouchers.c.municipality_id,
            _bindings_table.c.voucher_code == _vouchers.c.code,
            *extra,
        )
        .scalar_subquery()
    )


#: Everything a redemption reads before it moves money: the merchant, a
#: stored answer for the key (``stored_id`` None when the key is new), the
#: voucher with whether its code is bound (and to this merchant), and the
#: pass the voucher is on.
_CONTEXT = (
    select(
        _merchants.c.id,
        _merchants.c.municipality_id,
        _merchants.c.status,
        _merchants.c.categories,
        _merchants.c.account_id,
        _redemptions.c.id.label("stored_id"),
        _redemptions.c.receipt_no,
        _redemptions.c.amount_cents,
        _redemptions.c.balance_after_cents,
        _redemptions.c.strips_left,
        _redemptions.c.created_at,
        _redemptions.c.request_hash,
        _vouchers.c.id.label("voucher_id"),
        _vouchers.c.pass_id.label("voucher_pass_id"),
        _vouchers.c.municipality_id.label("voucher_municipality_id"),
        _vouchers.c.kind.label("voucher_kind"),
        _vouchers.c.category.label("voucher_category"),
        _vouchers.c.account_id.label("voucher_account_id"),
        _vouchers.c.strip_value_cents.label("voucher_strip_value_cents"),
        _vouchers.c.valid_until.label("voucher_valid_until"),
        _binding_count().label("voucher_bindings"),
        _binding_count(_bindings_table.c.merchant_id == _merchants.c.id).label("voucher_bound_here"),
        _passes.c.status.label("pass_status"),
        _passes.c.handle.label("pass_handle"),
        _passes.c.code_hash.label("pass_code_hash"),
        _passes.c.valid_from.label("pass_valid_from"),
        _passes.c.valid_until.label("pass_valid_until"),
    )
    .select_from(
        _merchants.outerjoin(
            _redemptions,
            and_(_redemptions.c.merchant_id == _merchants.c.id, _redemptions.c.idempotency_key == bindparam("key")),
        )
        .outerjoin(_vouchers, _vouchers.c.id == bindparam("voucher_id"))
        .outerjoin(_passes, _passes.c.id == _vouchers.c.pass_id)
    )
    .where(_merchants.c.id == bindparam("merchant_id"))
)
# Held until the transaction ends: a twin on another worker or host fails to
# take it and is told to retry.
_CONTEXT_LOCKED = _CONTEXT.add_columns(func.pg_try_advisory_xact_lock(bindparam("lock_id")).label("locked"))

_INSERT_REDEMPTION = insert(_redemptions).returning(_redemptions.c.id)

#: Lock order (docs/ARCHITECTURE.md): voucher accounts, then the pass. A
#: block or reissue locks the pass's voucher accounts before it changes the
#: pass, so once the debit holds the voucher's account none is half done,
#: and a statement started after it sees one that committed meanwhile. On
#: PostgreSQL the redemption's INSERT is such a statement: it also returns
#: the pass's status (no extra round trip), and a pass no longer active
#: refuses the redemption (``_check_pass_now``). No lock is taken on the pass
#: (a shared one would let a stream of tills starve a block); the reference
#: the row adds takes KEY SHARE, which the NO KEY UPDATE of a block or
#: reissue does not wait for. SQLite's writers take turns: nothing to re-read.
_INSERT_REDEMPTION_PG = insert(_redemptions).returning(
    _redemptions.c.id,
    # Spelled out: SQLAlchemy does not correlate a subquery in RETURNING.
    literal_column("(SELECT wallet_pass.status FROM wallet_pass WHERE wallet_pass.id = redemption.pass_id)").label(
        "pass_status"
    ),
)
_PASS_NOW = select(_passes.c.status, _passes.c.valid_from, _passes.c.valid_until).where(
    _passes.c.id == bindparam("pass_id")
)


def _lock_id(merchant_id: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"redeem:{merchant_id}:{key}".encode()).digest()[:8], "big", signed=True)


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


def _context(session: Session, merchant_id: int, key: str, voucher_id: int) -> Row[Any]:
    """``_CONTEXT``'s row; on PostgreSQL it also takes the key's lock."""
    conn = session.connection()
    params = {"merchant_id": merchant_id, "key": key, "voucher_id": voucher_id}
    if conn.dialect.name == "postgresql":
        row = conn.execute(_CONTEXT_LOCKED, {**params, "lock_id": _lock_id(merchant_id, key)}).first()
        if row is not None and not row.locked:
            raise RequestInProgress("a request with this Idempotency-Key is still being processed; retry shortly")
    else:
        row = conn.execute(_CONTEXT, params).first()
    if row is None or row.status != "approved":
        raise Forbidden("this merchant is not approved to take passes")
    return row


@dataclass(frozen=True)
class _PassState:
    status: str
    valid_from: date
    valid_until: date


def _check_pass_now(session: Session, pass_id: int, today: date) -> None:
    """Refuse, as ``check_usable`` does, a pass blocked or replaced while this
    redemption waited for its voucher's account (``_PASS_NOW``). SQLite's
    write lock, held since ``BEGIN IMMEDIATE``, already keeps a block or
    reissue out: ``_CONTEXT`` read the pass current there."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        row = conn.execute(_PASS_NOW, {"pass_id": pass_id}).one()
        check_usable(_PassState(row.status, row.valid_from, row.valid_until), today)  # type: ignore[arg-type]


def _names_pass(settings: Settings, code: str, handle: str, code_hash: str) -> bool:
    """Whether ``code`` (a QR payload, a bare token or a typed code) names the
    pass generation with this handle and code hash, without a query.

    A forged, mistyped or malformed code raises ``InvalidCode`` as
    ``resolve_pass`` would.
    """
    text = (code or "").strip()
    token = tokens.extract_token(text)
    if token is not None:
        return tokens.verify_token(settings, token) == handle
    if not codes.looks_like_typed_code(text):
        raise InvalidCode("this is not a pass code")
    return code_hash in codes.lookup_hashes(settings, codes.normalise(text))


def request_hash(code: str, voucher_id: int, amount_cents: int | None, strips: int | None) -> str:
    body = {"code": code.strip(), "voucher_id": voucher_id, "amount_cents": amount_cents, "strips": strips}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _receipt_no() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


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
    """Take ``amount_cents`` (or ``strips`` of a punch card) from a voucher.

    The same ``idempotency_key`` with the same request returns the stored
    answer (``replayed``) and moves nothing. Raises ``Forbidden`` (not an
    approved merchant), ``RequestInProgress`` (a twin is still running),
    ``IdempotencyKeyReused``, ``ValidationFailed``, ``InvalidCode``,
    ``PassBlocked``, ``PassExpired``, ``NotAcceptedHere``,
    ``InsufficientBalance`` and ``RateLimited`` (too many wrong typed codes).
    """
    if (amount_cents is None) == (strips is None):
        raise ValidationFailed("give either amount_cents or strips", errors={"amount_cents": ["give amount_cents or strips"]})
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise ValidationFailed("the Idempotency-Key header is required (1 to 200 characters)")
    if actor.role != "merchant" or actor.merchant_id is None:
        raise Forbidden("only a merchant can scan and redeem passes")
    # Stamped on the service's "today" (PASDIENST_TODAY in demos and tests).
    now = now or clock_now(today)
    fingerprint = request_hash(code, voucher_id, amount_cents, strips)
    with _claim(actor.merchant_id, key):
        found = _context(session, actor.merchant_id, key, voucher_id)
        if found.stored_id is not None:
            if found.request_hash != fingerprint:
                raise IdempotencyKeyReused("this Idempotency-Key was already used for a different redemption")
            return RedemptionResult(
                found.stored_id, found.receipt_no, found.amount_cents, found.balance_after_cents,
                found.strips_left, found.created_at, True,
            )

        if found.voucher_id is None:
            raise ValidationFailed("no such voucher", errors={"voucher_id": ["no such voucher"]})
        if codes.looks_like_typed_code(code):
            check_typed_code_budget(session, actor)
        # A code of any other pass (another child's, or the replaced one of a
        # reissue) is refused exactly as an unknown code, with no look-up of
        # it: nothing in the answer or the work done says that it is real.
        if not _names_pass(settings, code, found.pass_handle, found.pass_code_hash):
            raise unknown_pass()
        check_usable(_PassState(found.pass_status, found.pass_valid_from, found.pass_valid_until), today)  # type: ignore[arg-type]
        categories = frozenset(c for c in found.categories.split(",") if c)
        may_take = _takes(
            found.municipality_id, categories, found.voucher_municipality_id, found.voucher_category,
            found.voucher_bindings == 0 or found.voucher_bound_here > 0,
        )
        if not may_take:
            raise NotAcceptedHere("this voucher cannot be spent at this merchant")
        if found.voucher_valid_until < today:
            raise PassExpired("this voucher is no longer valid")
        if strips is not None:
            if found.voucher_kind != "punchcard":
                raise ValidationFailed("strips can only be taken from a punch card", errors={"strips": ["not a punch card"]})
            amount = strips * int(found.voucher_strip_value_cents or 0)
        else:
            if found.voucher_kind == "punchcard":
                raise ValidationFailed("a punch card takes strips, not an amount", errors={"amount_cents": ["use strips"]})
            amount = int(amount_cents or 0)
        try:
            posted = ledger.transfer(
                session,
                kind=books.REDEEM,
                source=found.voucher_account_id,
                destination=found.account_id,
                amount=amount,
                reference=f"merchant {found.id}",
                now=now,
            )
        except ledger.InsufficientFunds as exc:
            # A reissue that moved the balance away while we waited: say why.
            _check_pass_now(session, found.voucher_pass_id, today)
            raise InsufficientBalance(
                f"the voucher holds {exc.balance} cents, {amount} requested", balance_cents=exc.balance
            ) from None
        balance_after = posted.balances[found.voucher_account_id]
        strips_left = _strips_left(found.voucher_kind, found.voucher_strip_value_cents, balance_after)
        receipt_no = _receipt_no()
        conn = session.connection()
        postgresql = conn.dialect.name == "postgresql"
        try:
            inserted = conn.execute(
                _INSERT_REDEMPTION_PG if postgresql else _INSERT_REDEMPTION,
                {
                    "municipality_id": found.municipality_id,
                    "merchant_id": found.id,
                    "pass_id": found.voucher_pass_id,
                    "voucher_id": voucher_id,
                    "user_id": actor.user_id,
                    "amount_cents": amount,
                    "strips": strips,
                    "balance_after_cents": balance_after,
                    "strips_left": strips_left,
                    "receipt_no": receipt_no,
                    "transfer_id": posted.id,
                    "idempotency_key": key,
                    "request_hash": fingerprint,
                    "created_at": posted.created_at,
                },
            ).one()
        except IntegrityError as exc:
            if "idempotency_key" not in str(exc.orig):
                raise
            # A twin committed between our look-up's snapshot and taking its
            # lock: this attempt rolls back whole, and a retry reads its answer.
            raise RequestInProgress("a request with this Idempotency-Key was just processed; retry to read it") from None
        redemption_id = inserted.id
        if postgresql and inserted.pass_status != ACTIVE:
            # Blocked or reissued while the debit waited for the account
            # (lock order above): refused, and the transaction rolls back.
            _check_pass_now(session, found.voucher_pass_id, today)
        return RedemptionResult(redemption_id, receipt_no, amount, balance_after, strips_left, posted.created_at, False)


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
    done = session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.voided_at.is_(None))
        .values(voided_at=moment, void_transfer_id=reversal.id, voided_by_user_id=actor.user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
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


# -- refusals and the typed-code limit ------------------------------------------

TYPED_CODE_FAILURES_ALLOWED = 10
TYPED_CODE_WINDOW = timedelta(minutes=10)


def record_refusal(
    session: Session, actor: Actor | None, *, action: str, reason: str, typed_code: bool, remote_addr: str | None
) -> None:
    session.add(
        Refusal(
            merchant_id=actor.merchant_id if actor else None,
            user_id=actor.user_id if actor else None,
            action=action,
            reason=reason,
            typed_code=typed_code,
            remote_addr=remote_addr,
        )
    )


def check_typed_code_budget(session: Session, actor: Actor, *, now: datetime | None = None) -> None:
    """Refuse look-ups once a merchant has typed too many wrong codes lately.

    Counted in the database so the limit holds across workers and hosts.
    """
    since = (now or now_utc()) - TYPED_CODE_WINDOW
    failures = session.execute(
        select(func.count())
        .select_from(Refusal)
        .where(Refusal.merchant_id == actor.merchant_id, Refusal.typed_code.is_(True), Refusal.at >= since)
    ).scalar_one()
    if failures >= TYPED_CODE_FAILURES_ALLOWED:
        raise RateLimited(
            "too many wrong codes typed; wait ten minutes or scan the QR code",
            retry_after=int(TYPED_CODE_WINDOW.total_seconds()),
        )

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

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.errors import Forbidden
from ..access.services import Actor
from ..clock import day_bounds_utc, now_utc
from ..clock import now as clock_now
from ..config import Settings
from ..errors import NotFound, ValidationFailed
from ..wallet.errors import PassExpired
from ..wallet.models import Voucher
from ..wallet.services import resolve_pass
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
    pass_id: int
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


def accepts(merchant: Merchant, voucher: Voucher, bindings: dict[str, set[int]]) -> bool:
    if voucher.municipality_id != merchant.municipality_id:
        return False
    if voucher.category not in merchant.category_set:
        return False
    bound = bindings.get(voucher.code or "")
    return bound is None or merchant.id in bound


def _strips_left(voucher: Voucher, balance: int) -> int | None:
    if voucher.kind != "punchcard" or not voucher.strip_value_cents:
        return None
    return balance // voucher.strip_value_cents


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
            VoucherView(voucher.id, voucher.kind, voucher.category, balance, _strips_left(voucher, balance), voucher.valid_until)
        )
    return ScanResult(child_pass.id, child_pass.child.first_name, child_pass.child.age_on(today), views)


# -- redeem --------------------------------------------------------------------

_in_flight: set[tuple[int, str]] = set()
_in_flight_lock = threading.Lock()


@contextmanager
def _claim(session: Session, merchant_id: int, key: str) -> Iterator[None]:
    """Refuse a twin of a request that is still being processed."""
    token = (merchant_id, key)
    with _in_flight_lock:
        if token in _in_flight:
            raise RequestInProgress("a request with this Idempotency-Key is still being processed; retry shortly")
        _in_flight.add(token)
    try:
        if session.get_bind().dialect.name == "postgresql":
            lock_id = int.from_bytes(hashlib.sha256(f"redeem:{merchant_id}:{key}".encode()).digest()[:8], "big", signed=True)
            # Held until the transaction ends; a twin on another worker or
            # host fails to take it and is told to retry.
            got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_id}).scalar()
            if not got:
                raise RequestInProgress("a request with this Idempotency-Key is still being processed; retry shortly")
        yield
    finally:
        with _in_flight_lock:
            _in_flight.discard(token)


def request_hash(code: str, voucher_id: int, amount_cents: int | None, strips: int | None) -> str:
    body = {"code": code.strip(), "voucher_id": voucher_id, "amount_cents": amount_cents, "strips": strips}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _result(r: Redemption, *, replayed: bool) -> RedemptionResult:
    return RedemptionResult(r.id, r.receipt_no, r.amount_cents, r.balance_after_cents, r.strips_left, r.created_at, replayed)


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
    """Take ``amount_cents`` (or ``strips`` of a punch card) from a voucher."""
    if (amount_cents is None) == (strips is None):
        raise ValidationFailed("give either amount_cents or strips", errors={"amount_cents": ["give amount_cents or strips"]})
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise ValidationFailed("the Idempotency-Key header is required (1 to 200 characters)")
    merchant = merchant_of(session, actor)
    # Stamped on the service's "today" (PASDIENST_TODAY in demos and tests).
    now = now or clock_now(today)
    fingerprint = request_hash(code, voucher_id, amount_cents, strips)
    with _claim(session, merchant.id, key):
        existing = session.execute(
            select(Redemption).where(Redemption.merchant_id == merchant.id, Redemption.idempotency_key == key)
        ).scalar_one_or_none()
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyKeyReused("this Idempotency-Key was already used for a different redemption")
            return _result(existing, replayed=True)

        child_pass = resolve_pass(session, code, settings=settings, today=today)
        voucher = session.get(Voucher, voucher_id)
        if voucher is None or voucher.pass_id != child_pass.id:
            raise ValidationFailed("this voucher is not on this pass", errors={"voucher_id": ["not on this pass"]})
        if not accepts(merchant, voucher, _bindings(session, merchant.municipality_id)):
            raise NotAcceptedHere("this voucher cannot be spent at this merchant")
        if voucher.valid_until < today:
            raise PassExpired("this voucher is no longer valid")
        if strips is not None:
            if voucher.kind != "punchcard":
                raise ValidationFailed("strips can only be taken from a punch card", errors={"strips": ["not a punch card"]})
            amount = strips * int(voucher.strip_value_cents or 0)
        else:
            if voucher.kind == "punchcard":
                raise ValidationFailed("a punch card takes strips, not an amount", errors={"amount_cents": ["use strips"]})
            amount = int(amount_cents or 0)
        try:
            posted = ledger.transfer(
                session,
                kind=books.REDEEM,
                source=voucher.account_id,
                destination=merchant.account_id,
                amount=amount,
                reference=f"merchant {merchant.id}",
                now=now,
            )
        except ledger.InsufficientFunds as exc:
            raise InsufficientBalance(
                f"the voucher holds {exc.balance} cents, {amount} requested", balance_cents=exc.balance
            ) from None
        balance_after = posted.balances[voucher.account_id]
        redemption = Redemption(
            municipality_id=merchant.municipality_id,
            merchant_id=merchant.id,
            pass_id=child_pass.id,
            voucher_id=voucher.id,
            user_id=actor.user_id,
            amount_cents=amount,
            strips=strips,
            balance_after_cents=balance_after,
            strips_left=_strips_left(voucher, balance_after),
            receipt_no=_receipt_no(),
            transfer_id=posted.id,
            idempotency_key=key,
            request_hash=fingerprint,
            created_at=posted.created_at,
        )
        session.add(redemption)
        session.flush()
        return _result(redemption, replayed=False)


# -- void ----------------------------------------------------------------------

def void(session: Session, actor: Actor, redemption_id: int, *, today: date, now: datetime | None = None) -> Redemption:
    """Undo a redemption the same day, by a reversal transfer."""
    merchant = merchant_of(session, actor)
    redemption = session.get(Redemption, redemption_id)
    if redemption is None or redemption.merchant_id != merchant.id:
        raise NotFound("no such redemption at this merchant")
    if redemption.voided_at is not None:
        return redemption  # voiding twice is a harmless retry
    start, end = day_bounds_utc(today)
    if not (start <= redemption.created_at < end):
        raise VoidWindowClosed("a redemption can be voided only on the day it was made")
    if redemption.settlement_batch_id is not None:
        raise VoidWindowClosed("this redemption is already in a settlement batch")
    reversal = ledger.reverse(
        session, redemption.transfer_id, reference=f"void {redemption.receipt_no}", now=now or clock_now(today)
    )
    moment = reversal.created_at
    # Guarded: a batch that took the redemption in the meantime wins.
    done = session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.voided_at.is_(None), Redemption.settlement_batch_id.is_(None))
        .values(voided_at=moment, void_transfer_id=reversal.id, voided_by_user_id=actor.user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise VoidWindowClosed("this redemption is already in a settlement batch")
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
            day == today and r.voided_at is None and r.settlement_batch_id is None,
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
        raise RateLimited("too many wrong codes typed; wait ten minutes or scan the QR code")

"""Payments the bank sent back: taken back with four eyes.

A bank refuses or returns a credit transfer now and then (the account was
closed, the name does not match). Finance records the return for one
merchant's line of a batch, or for every line of it, and a different
finance user confirms it. Confirming, in one transaction under the batch
row lock and the municipality's settlement lock:

* a line returned after the batch was marked paid first moves its total
  back from the bank account into clearing (``bank_return``), because the
  payout already took it out;
* the line's ``settle`` transfer is reversed: clearing back to the
  merchant's payable;
* a ``SettlementReturnedLine`` marks the line (at most once: its primary
  key) and ``SettlementReturnedItem`` keeps which redemptions it held, for
  the statement;
* its redemptions are released from the batch (``settlement_item``) and its
  corrections un-netted, so the next ``settlement create`` takes them again,
  and the merchant is paid once the account or name is fixed.

The batch keeps its state and its figures. What a batch still pays is its
total minus the lines returned before the payout (``mark_paid`` pays that,
the first payment file leaves lines returned while only approved out), and
a batch whose every line came back has nothing left to pay.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, delete, insert, literal, select, update
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.models import User
from ..access.audit import record_audit
from ..access.policy import Actor, same_hands
from ..clock import now_utc
from ..errors import NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from .claims import lock_municipality
from .errors import FourEyes, WrongState
from .models import (
    PAID,
    RETURN_CONFIRMED,
    RETURN_REQUESTED,
    RETURN_WITHDRAWN,
    SETTLED_STATUSES,
    SettlementBatch,
    SettlementCorrection,
    SettlementItem,
    SettlementLine,
    SettlementReturn,
    SettlementReturnedItem,
    SettlementReturnedLine,
)
from .batches import READERS, batch_for, cooperation_run_of, returned_lines

_items = SettlementItem.__table__
_redemptions = Redemption.__table__


def _reason(text: str | None) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise ValidationFailed("a return needs the bank's reason (e.g. 'account closed', 'name does not match')",
                               refusal="return_reason_missing")
    if len(reason) > 200:
        raise ValidationFailed("a reason is at most 200 characters", refusal="return_reason_too_long", limit=200)
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in reason):
        raise ValidationFailed("a reason cannot hold control characters", refusal="return_reason_control")
    return reason


def _snapshot(entry: SettlementReturn) -> dict[str, object]:
    return {
        "batch_id": entry.batch_id, "merchant_id": entry.merchant_id, "reason": entry.reason,
        "status": entry.status, "amount_cents": entry.amount_cents,
    }


def _open_requests(session: Session, batch_id: int) -> list[SettlementReturn]:
    return list(
        session.execute(
            select(SettlementReturn).where(
                SettlementReturn.batch_id == batch_id, SettlementReturn.status == RETURN_REQUESTED
            )
        ).scalars()
    )


def request_return(
    session: Session, actor: Actor, batch_id: int, *, merchant_id: int | None, reason: str,
    now: datetime | None = None,
) -> SettlementReturn:
    """Record that the bank returned one merchant's payment of the batch (or, with
    ``merchant_id`` None, every payment of it not returned yet). Nothing moves
    until another finance user confirms it (``confirm_return``)."""
    batch = batch_for(session, actor, batch_id, lock=True)
    reason = _reason(reason)
    if batch.status not in SETTLED_STATUSES:
        raise WrongState(
            f"batch {batch.id} is {batch.status}; only an approved, exported or paid batch has payments to return"
            + (" (a draft is cancelled instead)" if batch.status == "draft" else ""),
            refusal="return_not_settled", batch=batch.id,
        )
    _not_in_cooperation_run(session, batch.id)
    if actor.user_id is None:
        raise FourEyes("a return is recorded by a finance user, so that another one can confirm it",
                       refusal="return_needs_finance_user")
    lines = {
        line.merchant_id: line
        for line in session.execute(select(SettlementLine).where(SettlementLine.batch_id == batch.id)).scalars()
    }
    done = returned_lines(session, batch.id)
    if merchant_id is not None:
        if merchant_id not in lines:
            raise NotFound(f"merchant {merchant_id} is not in batch {batch.id}")
        if merchant_id in done:
            raise WrongState(f"the payment to merchant {merchant_id} in batch {batch.id} was already returned",
                             refusal="return_already_returned", batch=batch.id)
    elif set(lines) <= set(done):
        raise WrongState(f"every payment of batch {batch.id} was already returned", refusal="return_already_returned",
                         batch=batch.id)
    for pending in _open_requests(session, batch.id):
        if pending.merchant_id is None or merchant_id is None or pending.merchant_id == merchant_id:
            raise WrongState(
                f"return {pending.id} of batch {batch.id} already waits for confirmation; confirm or withdraw it first",
                refusal="return_pending", batch=batch.id, return_id=pending.id,
            )
    entry = SettlementReturn(
        batch_id=batch.id, merchant_id=merchant_id, reason=reason, status=RETURN_REQUESTED,
        requested_by_user_id=actor.user_id, requested_at=now or now_utc(), amount_cents=0,
    )
    session.add(entry)
    session.flush()
    record_audit(
        session, actor, "settlement.return_request", "settlement_batch", batch.id,
        after={"return_id": entry.id, **_snapshot(entry)}, municipality_id=batch.municipality_id,
    )
    return entry


def _not_in_cooperation_run(session: Session, batch_id: int) -> None:
    """A batch in a cooperation's payment run was paid (or is being paid) from
    the cooperation's account: its money has left this municipality's
    clearing, so a payment the bank returned is settled with the cooperation
    outside pasdienst."""
    in_run = cooperation_run_of(session, batch_id)
    if in_run is not None:
        raise WrongState(
            f"batch {batch_id} is paid by cooperation {in_run[0]} in run R{in_run[1]}: a payment the bank "
            "returned is settled with the cooperation, outside pasdienst",
            refusal="return_in_cooperation_run", batch=batch_id, run=in_run[1],
        )


def _own_return(session: Session, actor: Actor, return_id: int) -> tuple[SettlementReturn, SettlementBatch]:
    entry = session.get(SettlementReturn, return_id) if isinstance(return_id, int) else None
    if entry is None:
        raise NotFound(f"no settlement return {return_id!r}", refusal="return_not_found")
    # The batch row lock first (as approve and paid take it), then the return.
    batch = batch_for(session, actor, entry.batch_id, lock=True)
    session.refresh(entry, with_for_update=True)
    return entry, batch


@dataclass(frozen=True)
class ReturnResult:
    entry: SettlementReturn
    #: False when it was confirmed before (a harmless re-run).
    changed: bool
    #: Merchant ids whose line was taken back now.
    merchants: tuple[int, ...] = ()


def confirm_return(session: Session, actor: Actor, return_id: int, *, now: datetime | None = None) -> ReturnResult:
    """A second finance user, another person too (``access.policy.same_hands``),
    confirms a recorded return: the money goes back to the merchants' payables
    and their redemptions wait for the next batch."""
    entry, batch = _own_return(session, actor, return_id)
    if entry.status == RETURN_CONFIRMED:
        return ReturnResult(entry, False)
    if entry.status != RETURN_REQUESTED:
        raise WrongState(f"return {entry.id} was withdrawn; record it again if the bank did return the payment",
                         refusal="return_withdrawn", batch=batch.id, return_id=entry.id)
    if actor.user_id is None or actor.user_id == entry.requested_by_user_id:
        raise FourEyes(f"return {entry.id} was recorded by {actor.email}; another finance user must confirm it (four eyes)",
                       refusal="return_four_eyes_own")
    if same_hands(session, actor.user_id, entry.requested_by_user_id):
        raise FourEyes(
            f"return {entry.id} was recorded by an account of {actor.email}'s lineage (one sponsored the other, "
            "or one admin created or reset the password of both); another finance user must confirm it (four eyes)",
            refusal="return_four_eyes_lineage", lineage=True,
        )
    if batch.status not in SETTLED_STATUSES:  # the trigger keeps a settled batch settled; belt and braces
        raise WrongState(f"batch {batch.id} is {batch.status}; it has no payments to return", refusal="return_not_settled",
                         batch=batch.id)
    _not_in_cooperation_run(session, batch.id)
    lock_municipality(session, batch.municipality_id)
    now = now or now_utc()
    code = session.execute(select(Municipality.code).where(Municipality.id == batch.municipality_id)).scalar_one()
    done = returned_lines(session, batch.id)
    query = select(SettlementLine).where(SettlementLine.batch_id == batch.id).order_by(SettlementLine.merchant_id)
    if entry.merchant_id is not None:
        query = query.where(SettlementLine.merchant_id == entry.merchant_id)
    lines = [line for line in session.execute(query).scalars() if line.merchant_id not in done]
    if not lines:
        raise WrongState(f"nothing of return {entry.id} is left to take back: batch {batch.id}'s payments were returned already",
                         refusal="return_already_returned", batch=batch.id)
    clearing = ledger.get_account(session, books.clearing_key(code)).id
    bank = ledger.get_account(session, books.bank_key(code)).id
    for line in lines:
        assert line.settle_transfer_id is not None
        refund = None
        if batch.status == PAID:
            # The payout took it out of clearing; the bank gave it back.
            refund = ledger.transfer(
                session, kind=books.BANK_RETURN, source=bank, destination=clearing, amount=line.total_cents,
                reference=f"bank return B{batch.id} M{line.merchant_id}", idempotency_key=f"bank-return:{line.id}",
                now=now,
            ).id
        reversal = ledger.reverse(
            session, line.settle_transfer_id, reference=f"return B{batch.id} M{line.merchant_id}",
            idempotency_key=f"return:{line.id}", now=now,
        )
        session.add(
            SettlementReturnedLine(
                line_id=line.id, return_id=entry.id, batch_id=batch.id, merchant_id=line.merchant_id,
                amount_cents=line.total_cents, count=line.count, batch_status=batch.status, returned_at=now,
                reversal_transfer_id=reversal.id, refund_transfer_id=refund,
            )
        )
        session.flush()  # the item trigger looks for this row
        of_merchant = select(_redemptions.c.id).where(_redemptions.c.merchant_id == line.merchant_id)
        session.execute(
            insert(SettlementReturnedItem.__table__).from_select(
                ["line_id", "redemption_id"],
                select(literal(line.id, BigInteger()), _items.c.redemption_id).where(
                    _items.c.batch_id == batch.id, _items.c.redemption_id.in_(of_merchant)
                ),
            )
        )
        session.execute(delete(_items).where(_items.c.batch_id == batch.id, _items.c.redemption_id.in_(of_merchant)))
        session.execute(
            update(SettlementCorrection.__table__)
            .where(
                SettlementCorrection.__table__.c.settlement_batch_id == batch.id,
                SettlementCorrection.__table__.c.merchant_id == line.merchant_id,
            )
            .values(settlement_batch_id=None)
        )
    entry.status, entry.decided_by_user_id, entry.decided_at = RETURN_CONFIRMED, actor.user_id, now
    entry.amount_cents = sum(line.total_cents for line in lines)
    session.flush()
    names = dict(session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_([line.merchant_id for line in lines]))).all())
    record_audit(
        session, actor, "settlement.return_confirm", "settlement_batch", batch.id,
        before={"status": batch.status},
        after={
            "return_id": entry.id, **_snapshot(entry),
            "lines": [
                {"merchant_id": line.merchant_id, "merchant": names.get(line.merchant_id), "count": line.count,
                 "amount_cents": line.total_cents}
                for line in lines
            ],
            "after_payout": batch.status == PAID,
        },
        municipality_id=batch.municipality_id,
    )
    return ReturnResult(entry, True, tuple(line.merchant_id for line in lines))


def withdraw_return(session: Session, actor: Actor, return_id: int, *, now: datetime | None = None) -> ReturnResult:
    """Drop a recorded return that was not confirmed (by whoever recorded it, or rejected by another)."""
    entry, batch = _own_return(session, actor, return_id)
    if entry.status == RETURN_WITHDRAWN:
        return ReturnResult(entry, False)
    if entry.status != RETURN_REQUESTED:
        raise WrongState(f"return {entry.id} was confirmed; its money is back on the payables already",
                         refusal="return_confirmed", batch=batch.id, return_id=entry.id)
    entry.status, entry.decided_by_user_id, entry.decided_at = RETURN_WITHDRAWN, actor.user_id, now or now_utc()
    session.flush()
    record_audit(
        session, actor, "settlement.return_withdraw", "settlement_batch", batch.id,
        after={"return_id": entry.id, **_snapshot(entry)}, municipality_id=batch.municipality_id,
    )
    return ReturnResult(entry, True)


@dataclass(frozen=True)
class ReturnView:
    id: int
    merchant_id: int | None
    merchant_name: str | None
    reason: str
    status: str
    requested_by: str
    requested_by_user_id: int
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    amount_cents: int


def batch_returns(session: Session, actor: Actor, batch_id: int) -> list[ReturnView]:
    """Every return recorded for the batch, oldest first."""
    batch = batch_for(session, actor, batch_id, roles=READERS)
    rows = session.execute(
        select(SettlementReturn, Merchant.name)
        .outerjoin(Merchant, Merchant.id == SettlementReturn.merchant_id)
        .where(SettlementReturn.batch_id == batch.id)
        .order_by(SettlementReturn.id)
    ).all()
    ids = {r.requested_by_user_id for r, _ in rows} | {r.decided_by_user_id for r, _ in rows if r.decided_by_user_id}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}
    return [
        ReturnView(
            r.id, r.merchant_id, name, r.reason, r.status, emails.get(r.requested_by_user_id, ""), r.requested_by_user_id,
            r.requested_at, emails.get(r.decided_by_user_id) if r.decided_by_user_id else None, r.decided_at, r.amount_cents,
        )
        for r, name in rows
    ]


def returned_items(session: Session, line_id: int) -> list[int]:
    """The redemption ids a returned line held."""
    return list(
        session.execute(
            select(SettlementReturnedItem.redemption_id)
            .where(SettlementReturnedItem.line_id == line_id)
            .order_by(SettlementReturnedItem.redemption_id)
        ).scalars()
    )

"""Corrections: taking back a redemption of a settled batch.

The ledger transfer of the redemption is reversed and the next batch nets
the amount off the merchant's line (``batches.create_batch``). Merchant
payables never go below zero, so a correction needs at least as much
waiting to be settled; it takes the municipality's settlement lock, as
approval does.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import ledger
from ..access.audit import record_audit
from ..access.policy import Actor
from ..clock import day_bounds_utc, now_utc
from ..errors import NotFound, ValidationFailed
from ..labels import euros
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..wallet.lifecycle import follow_child
from .claims import batch_of, lock_municipality
from .batches import ensure_finance, local_date, payable_accounts
from .errors import CorrectionRefused
from .models import (
    DRAFT,
    SETTLED_STATUSES,
    SettlementBatch,
    SettlementCorrection,
    SettlementItem,
    SettlementLine,
)

_items = SettlementItem.__table__
_redemptions = Redemption.__table__

# -- corrections ------------------------------------------------------------------------

def correct_redemption(
    session: Session, actor: Actor, redemption_id: int, *, reason: str, now: datetime | None = None
) -> SettlementCorrection:
    """Take back a redemption that is in an approved (or exported, or paid) batch.

    The ledger transfer of the redemption is reversed: the voucher gets the
    money back and the merchant's payable is reduced; the next batch nets
    the amount off the merchant's line. The money follows the child: onto
    the current pass when the pass was reissued, back to the fund when its
    year is closed (``wallet.lifecycle.follow_child``). Merchant payables
    never go below zero, so the merchant must have at least that much waiting to be settled
    (outside draft batches, and not counting today's redemptions, which the
    till can still void); otherwise the correction is refused, saying so,
    and the refund has to be settled outside pasdienst or wait for new
    redemptions.
    """
    redemption = session.get(Redemption, redemption_id) if isinstance(redemption_id, int) else None
    if redemption is None or (actor.role != "system" and redemption.municipality_id != actor.municipality_id):
        raise NotFound(f"no redemption {redemption_id!r}")
    ensure_finance(actor, redemption.municipality_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("a correction needs a reason (e.g. what the merchant charged wrongly)")
    if len(reason) > 200:
        raise ValidationFailed("a reason is at most 200 characters")
    lock_municipality(session, redemption.municipality_id)
    if redemption.voided_at is not None:
        raise CorrectionRefused(f"redemption {redemption.id} ({redemption.receipt_no}) was voided; there is nothing to take back")
    done = session.execute(
        select(SettlementCorrection.id).where(SettlementCorrection.redemption_id == redemption.id)
    ).scalar()
    if done is not None:
        raise CorrectionRefused(f"redemption {redemption.id} ({redemption.receipt_no}) was already corrected (correction {done})")
    in_batch = batch_of(session, redemption.id)
    status = session.execute(select(SettlementBatch.status).where(SettlementBatch.id == in_batch)).scalar() if in_batch else None
    if status not in SETTLED_STATUSES:
        raise CorrectionRefused(
            f"redemption {redemption.id} is in draft batch {in_batch}: cancel that batch first, "
            "or approve it and correct the redemption afterwards"
            if status == DRAFT
            else f"redemption {redemption.id} is not settled yet: only a settled redemption is corrected "
            "(the merchant can void it on the day it was made)"
        )
    merchant = session.get(Merchant, redemption.merchant_id)
    assert merchant is not None
    code = session.execute(select(Municipality.code).where(Municipality.id == redemption.municipality_id)).scalar_one()
    # The merchant's payable in the redemption's municipality (its own, or
    # as a merchant of that municipality's cooperation), and only what that
    # municipality owes it.
    payable = payable_accounts(session, code, [merchant.id])[merchant.id]
    now = now or now_utc()
    waiting = ledger.balance(session, payable) - int(
        session.execute(
            select(func.coalesce(func.sum(SettlementLine.total_cents), 0))
            .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
            .where(
                SettlementLine.merchant_id == merchant.id, SettlementBatch.status == DRAFT,
                SettlementBatch.municipality_id == redemption.municipality_id,
            )
        ).scalar_one()
    ) - _still_voidable(session, merchant.id, redemption.municipality_id, now)
    if waiting < redemption.amount_cents:
        raise CorrectionRefused(
            f"{merchant.name} has {euros(waiting)} waiting to be settled, less than the {euros(redemption.amount_cents)} "
            "to take back: correct it once more redemptions are waiting, or settle this refund outside pasdienst"
        )
    reversal = ledger.reverse(
        session, redemption.transfer_id, reference=f"correction {redemption.receipt_no}",
        idempotency_key=f"correction:{redemption.id}", now=now,
    )
    # Onto the child's current pass, or back to the fund once the year is closed.
    follow_child(
        session, redemption.voucher_id, redemption.amount_cents, reference=f"correction {redemption.receipt_no}", now=now
    )
    correction = SettlementCorrection(
        municipality_id=redemption.municipality_id, merchant_id=merchant.id, redemption_id=redemption.id,
        amount_cents=redemption.amount_cents, reason=reason, transfer_id=reversal.id,
        created_by_user_id=actor.user_id, created_at=now,
    )
    session.add(correction)
    session.flush()
    record_audit(
        session, actor, "settlement.correct", "redemption", redemption.id,
        after={"amount_cents": redemption.amount_cents, "merchant_id": merchant.id, "reason": reason, "batch_id": in_batch},
        municipality_id=redemption.municipality_id,
    )
    return correction


def _still_voidable(session: Session, merchant_id: int, municipality_id: int, now: datetime) -> int:
    """What the merchant's redemptions of today add up to: the till can still
    void them (a void waits for the settlement lock we hold, then takes the
    money back off the payable), so they are not yet money the merchant is
    owed. Counting them would let a correction and a void together push the
    payable below zero."""
    start, _ = day_bounds_utc(local_date(now))
    return int(
        session.execute(
            select(func.coalesce(func.sum(_redemptions.c.amount_cents), 0)).where(
                _redemptions.c.merchant_id == merchant_id,
                _redemptions.c.municipality_id == municipality_id,
                _redemptions.c.voided_at.is_(None),
                _redemptions.c.created_at >= start,
                ~select(_items.c.redemption_id).where(_items.c.redemption_id == _redemptions.c.id).exists(),
            )
        ).scalar_one()
    )



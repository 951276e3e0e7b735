"""Reading settlement: the batches, their lines and steps for the finance
pages and the command line, what is waiting to be settled, and a merchant's
payouts."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.models import User
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..banking import InvalidIBAN, normalise_iban
from ..clock import day_bounds_utc
from ..errors import NotFound
from ..municipalities.services import get_municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from .batches import READERS, batch_for, local_date, returned_lines
from .models import (
    SETTLED_STATUSES,
    SettlementBatch,
    SettlementItem,
    SettlementLine,
    SettlementReturnedLine,
    SettlementTransition,
)
from .sepa import end_to_end_id_for

_items = SettlementItem.__table__
_redemptions = Redemption.__table__

# -- reading --------------------------------------------------------------------------

@dataclass(frozen=True)
class LineView:
    merchant_id: int
    merchant_name: str
    iban: str
    count: int
    redeemed_cents: int
    corrected_cents: int
    total_cents: int
    period_from: date
    period_until: date
    end_to_end_id: str
    #: The IBAN check a preview shows before approval (None: fine).
    problem: str | None
    #: When the bank's return of this payment was confirmed (None: not returned).
    returned_at: datetime | None = None


def batch_lines(session: Session, actor: Actor, batch_id: int) -> list[LineView]:
    """The batch per merchant: the preview before approval, the payments after it."""
    batch = batch_for(session, actor, batch_id, roles=READERS)
    views = []
    rows = session.execute(
        select(SettlementLine, Merchant)
        .join(Merchant, Merchant.id == SettlementLine.merchant_id)
        .where(SettlementLine.batch_id == batch.id)
        .order_by(Merchant.name, Merchant.id)
    ).all()
    returned = returned_lines(session, batch.id)
    for line, merchant in rows:
        problem = None
        iban = line.creditor_iban or merchant.iban
        if line.creditor_iban is None:
            try:
                iban = normalise_iban(merchant.iban, merchant.bic).iban
            except InvalidIBAN as exc:
                problem = exc.message
        views.append(
            LineView(
                merchant.id, line.creditor_name or merchant.name, iban, line.count, line.redeemed_cents,
                line.corrected_cents, line.total_cents, local_date(line.first_at), local_date(line.last_at),
                line.end_to_end_id or end_to_end_id_for(batch.id, merchant.id), problem,
                returned[merchant.id].returned_at if merchant.id in returned else None,
            )
        )
    return views


def paying_lines(session: Session, batch_ids: Collection[int]) -> list[SettlementLine]:
    """What the batches pay the merchants: their lines the bank did not return, in batch and merchant order.

    A returned line's redemptions wait for a later batch, so its batch does
    not pay them. No access check: for the caller that found the batches.
    """
    if not batch_ids:
        return []
    return list(
        session.execute(
            select(SettlementLine)
            .outerjoin(SettlementReturnedLine, SettlementReturnedLine.line_id == SettlementLine.id)
            .where(SettlementLine.batch_id.in_(list(batch_ids)), SettlementReturnedLine.line_id.is_(None))
            .order_by(SettlementLine.batch_id, SettlementLine.merchant_id)
        ).scalars()
    )


def get_batch(session: Session, actor: Actor, batch_id: int) -> SettlementBatch:
    return batch_for(session, actor, batch_id, roles=READERS)


def list_batches(session: Session, actor: Actor, municipality_code: str) -> list[SettlementBatch]:
    municipality = get_municipality(session, municipality_code)
    ensure_role(actor, "finance", "system")
    ensure_municipality(actor, municipality.id)
    return list(
        session.execute(
            select(SettlementBatch)
            .where(SettlementBatch.municipality_id == municipality.id)
            .order_by(SettlementBatch.id.desc())
        ).scalars()
    )


@dataclass(frozen=True)
class TransitionView:
    from_status: str | None
    to_status: str
    by: str
    at: datetime


def batch_transitions(session: Session, actor: Actor, batch_id: int) -> list[TransitionView]:
    batch = batch_for(session, actor, batch_id, roles=READERS)
    return [
        TransitionView(t.from_status, t.to_status, t.by_email, t.at)
        for t in session.execute(
            select(SettlementTransition).where(SettlementTransition.batch_id == batch.id).order_by(SettlementTransition.id)
        ).scalars()
    ]


def user_emails(session: Session, user_ids: set[int | None]) -> dict[int, str]:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class Waiting:
    count: int
    total_cents: int


def waiting_to_settle(session: Session, actor: Actor, municipality_code: str, *, until: date | None = None) -> Waiting:
    """What a batch made now would take (before corrections), for the finance page."""
    municipality = get_municipality(session, municipality_code)
    ensure_role(actor, "finance", "system")
    ensure_municipality(actor, municipality.id)
    query = select(func.count(), func.coalesce(func.sum(_redemptions.c.amount_cents), 0)).where(
        _redemptions.c.municipality_id == municipality.id,
        _redemptions.c.voided_at.is_(None),
        ~select(_items.c.redemption_id).where(_items.c.redemption_id == _redemptions.c.id).exists(),
    )
    if until is not None:
        query = query.where(_redemptions.c.created_at < day_bounds_utc(until)[0])
    count, total = session.execute(query).one()
    return Waiting(int(count), int(total))


# -- the merchant's view ------------------------------------------------------------------

@dataclass(frozen=True)
class MerchantBatch:
    batch_id: int
    status: str
    period_from: date
    period_until: date
    count: int
    total_cents: int
    corrected_cents: int
    approved_at: datetime | None
    paid_at: datetime | None
    end_to_end_id: str | None
    #: The bank sent this payment back (its redemptions wait for a next batch).
    returned_at: datetime | None = None


@dataclass(frozen=True)
class MerchantPayouts:
    batches: list[MerchantBatch]
    #: Redemptions not in an approved batch yet (waiting, or in a draft).
    waiting: Waiting


def merchant_payouts(session: Session, actor: Actor) -> MerchantPayouts:
    """A merchant's settlements, newest first: what, for which period, and when paid.

    Drafts are internal to finance (they may still be cancelled): their
    redemptions count as waiting.
    """
    if actor.role != "merchant" or actor.merchant_id is None:
        raise NotFound("only a merchant has payouts")
    rows = session.execute(
        select(SettlementLine, SettlementBatch, SettlementReturnedLine.returned_at)
        .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
        .outerjoin(SettlementReturnedLine, SettlementReturnedLine.line_id == SettlementLine.id)
        .where(SettlementLine.merchant_id == actor.merchant_id, SettlementBatch.status.in_(SETTLED_STATUSES))
        .order_by(SettlementBatch.id.desc())
    ).all()
    batches = [
        MerchantBatch(
            batch.id, batch.status, local_date(line.first_at), local_date(line.last_at), line.count,
            line.total_cents, line.corrected_cents, batch.approved_at, batch.paid_at, line.end_to_end_id, returned_at,
        )
        for line, batch, returned_at in rows
    ]
    settled = (
        select(_items.c.redemption_id)
        .join(SettlementBatch.__table__, SettlementBatch.__table__.c.id == _items.c.batch_id)
        .where(_items.c.redemption_id == _redemptions.c.id, SettlementBatch.__table__.c.status.in_(SETTLED_STATUSES))
    )
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(_redemptions.c.amount_cents), 0)).where(
            _redemptions.c.merchant_id == actor.merchant_id, _redemptions.c.voided_at.is_(None), ~settled.exists()
        )
    ).one()
    return MerchantPayouts(batches, Waiting(int(count), int(total)))



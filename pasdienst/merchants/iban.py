"""A merchant's new IBAN takes four eyes: one admin asks, another confirms.

Until the change is confirmed the merchant keeps (and settlement pays) its
old IBAN; ``IbanChangeRequest`` keeps the old one beside the new so the
confirming admin sees what changes. "Another admin" means another person:
``access.policy.same_hands`` refuses the requester and their lineage
(docs/SECURITY.md, "Four eyes"). The pending changes are shown with the other
four-eyes requests (``foureyes.requests.pending_iban_changes``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor, ensure_role, same_hands
from ..foureyes.errors import SecondAdminRequired
from ..banking import normalise_iban
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from .models import IBAN_CANCELLED, IBAN_CONFIRMED, IBAN_PENDING, IbanChangeRequest, Merchant
from .records import merchant_for, merchant_snapshot


def _snapshot(change: IbanChangeRequest) -> dict[str, Any]:
    return {"merchant_id": change.merchant_id, "old_iban": change.old_iban, "iban": change.iban,
            "bic": change.bic, "status": change.status}


def request_change(
    session: Session, actor: Actor, merchant_id: int, iban: str, bic: str | None = None
) -> IbanChangeRequest:
    """Ask for a new IBAN; it applies only when a second admin confirms (the merchant keeps its old one until then).

    A newer request replaces a pending one (which is cancelled).
    """
    ensure_role(actor, "admin")
    if actor.user_id is None:
        raise SecondAdminRequired("an IBAN change needs a signed-in admin", refusal="iban_change_needs_admin")
    merchant = merchant_for(session, merchant_id, actor)
    session.execute(select(Merchant.id).where(Merchant.id == merchant.id).with_for_update())
    account = normalise_iban(iban, bic)
    if account.iban == merchant.iban:
        raise ValidationFailed("this already is the merchant's IBAN", refusal="iban_unchanged")
    now = now_utc()
    for old in session.execute(
        select(IbanChangeRequest).where(IbanChangeRequest.merchant_id == merchant.id, IbanChangeRequest.status == IBAN_PENDING)
    ).scalars():
        old.status, old.decided_by_user_id, old.decided_at = IBAN_CANCELLED, actor.user_id, now
        record_audit(session, actor, "merchant.iban_change_cancel", "iban_change", old.id, after=_snapshot(old))
    change = IbanChangeRequest(
        municipality_id=merchant.municipality_id, merchant_id=merchant.id, old_iban=merchant.iban,
        old_bic=merchant.bic, iban=account.iban, bic=account.bic, status=IBAN_PENDING,
        requested_by_user_id=actor.user_id, requested_at=now,
    )
    session.add(change)
    session.flush()
    record_audit(session, actor, "merchant.iban_change_request", "iban_change", change.id, after=_snapshot(change))
    return change


def _pending_change(session: Session, actor: Actor, change_id: int) -> IbanChangeRequest:
    ensure_role(actor, "admin")
    change = session.get(IbanChangeRequest, change_id, with_for_update=True) if isinstance(change_id, int) else None
    if change is None or change.municipality_id != actor.municipality_id:
        raise NotFound("no such IBAN change", refusal="iban_change_not_found")
    if change.status != IBAN_PENDING:
        raise Conflict("this IBAN change was already decided", refusal="iban_change_decided")
    return change


def confirm_change(session: Session, actor: Actor, change_id: int) -> Merchant:
    """A second admin confirms: the merchant is paid to the new IBAN from the next settlement approval on."""
    change = _pending_change(session, actor, change_id)
    if same_hands(session, actor.user_id, change.requested_by_user_id):
        raise SecondAdminRequired("another admin, outside the requester's lineage, must confirm this IBAN change",
                                  refusal="iban_change_four_eyes")
    merchant = merchant_for(session, change.merchant_id, actor)
    if merchant.iban != change.old_iban:
        raise Conflict("the merchant's IBAN changed meanwhile; ask again", refusal="iban_changed_meanwhile")
    before = merchant_snapshot(merchant)
    merchant.iban, merchant.bic = change.iban, change.bic
    change.status, change.decided_by_user_id, change.decided_at = IBAN_CONFIRMED, actor.user_id, now_utc()
    session.flush()
    record_audit(
        session, actor, "merchant.iban_change_confirm", "merchant", merchant.id,
        before=before, after={**merchant_snapshot(merchant), "iban_change": change.id},
    )
    return merchant


def cancel_change(session: Session, actor: Actor, change_id: int) -> IbanChangeRequest:
    """Withdraw (the requester) or reject (another admin) a pending change."""
    change = _pending_change(session, actor, change_id)
    change.status, change.decided_by_user_id, change.decided_at = IBAN_CANCELLED, actor.user_id, now_utc()
    session.flush()
    record_audit(session, actor, "merchant.iban_change_cancel", "iban_change", change.id, after=_snapshot(change))
    return change

"""Approving and suspending a merchant from the back office.

Approval makes a merchant a payee, so it takes four eyes: an admin asks
(``foureyes.requests.request_merchant_approval``) and another confirms on
``/admin/verzoeken``. Suspending stops it taking passes at once, with one
admin: stopping payments never needs a second pair of eyes.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..access.policy import Actor, ensure_role
from ..errors import ValidationFailed
from ..foureyes import requests
from ..foureyes.models import FourEyesRequest
from .models import Merchant
from .records import merchant_for, set_merchant_status


def change_status(
    session: Session, actor: Actor, merchant_id: int, status: str
) -> tuple[Merchant, FourEyesRequest | None]:
    """Suspend a merchant at once, or ask for its approval (or reinstatement), which a second admin confirms."""
    ensure_role(actor, "admin")
    merchant = merchant_for(session, merchant_id, actor)
    if status not in ("approved", "suspended"):
        raise ValidationFailed("a merchant can only be approved or suspended", refusal="merchant_status_unknown")
    if status == "approved":
        return merchant, requests.request_merchant_approval(session, actor, merchant)
    return set_merchant_status(session, merchant.id, status, actor=actor), None

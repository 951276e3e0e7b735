"""A till login for a merchant, made by an admin of its municipality."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..access.models import User
from ..access.policy import Actor, ensure_role
from ..access.users import create_login
from ..errors import Conflict, ValidationFailed
from .records import merchant_for


def create_merchant_login(
    session: Session, actor: Actor, merchant_id: int, email: str | None = None
) -> tuple[User, str]:
    """A login for an approved merchant (its contact address unless another is given); the one-time password."""
    ensure_role(actor, "admin")
    merchant = merchant_for(session, merchant_id, actor)
    if not merchant.approved:
        raise Conflict("approve the merchant first", refusal="merchant_not_approved")
    address = (email or "").strip() or merchant.contact_email
    if not address:
        raise ValidationFailed("this merchant has no e-mail address", refusal="merchant_email_missing")
    return create_login(session, actor, address, role="merchant", merchant_id=merchant.id)

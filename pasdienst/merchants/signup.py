"""``/merchant/signup``: a shop, club or school applies itself.

The application is a ``pending`` merchant (``records.add_merchant`` and its
rules), which an admin of the municipality approves or not. An application
needs more than an admin's entry: a KvK number, an address and an e-mail
address the municipality can answer.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.policy import Actor
from ..errors import Conflict, ValidationFailed
from ..municipalities.models import Municipality
from .models import Merchant
from .records import add_merchant

#: The audit log's name for a merchant's own application at /merchant/signup.
SIGNUP_ACTOR = Actor(user_id=None, email="aanmelding", role="system", municipality_id=None, municipality_code=None)


def signup_merchant(
    session: Session, municipality_code: str, *, name: str, kvk_number: str, address: str,
    categories: Iterable[str], iban: str, contact_email: str,
) -> Merchant:
    """A shop or club applies itself: a ``pending`` merchant that an admin approves (or not)."""
    municipality = session.execute(
        select(Municipality).where(Municipality.code == (municipality_code or "").strip().lower())
    ).scalar_one_or_none()
    if municipality is None:
        raise ValidationFailed("choose a municipality", refusal="signup_municipality_missing")
    if not (kvk_number or "").strip():
        raise ValidationFailed("the KvK number is missing", refusal="kvk_missing")
    if not (contact_email or "").strip():
        raise ValidationFailed("a contact e-mail address is needed", refusal="contact_email_missing")
    if not (address or "").strip():
        raise ValidationFailed("the address is missing", refusal="address_missing")
    try:
        return add_merchant(
            session, municipality.code, name=name, categories=list(categories), iban=iban, status="pending",
            kvk_number=kvk_number, address=address, contact_email=contact_email, actor=SIGNUP_ACTOR,
        )
    except Conflict as exc:
        # The applicant is told apart from an admin: it may not have been them.
        raise Conflict(exc.message, refusal="signup_name_taken", **exc.details) from None

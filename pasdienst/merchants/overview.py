"""``/admin/aanbieders``: a municipality's merchants as its admins see them.

Each with its till logins, a pending IBAN change and who asked for it, and
who asked for its approval while a second admin has not confirmed it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.models import User
from ..access.policy import Actor, ensure_role
from ..foureyes.models import MERCHANT_APPROVE, REQUEST_PENDING, FourEyesRequest
from ..errors import NotFound
from .models import CATEGORIES, IBAN_PENDING, IbanChangeRequest, Merchant


@dataclass(frozen=True)
class MerchantRow:
    merchant: Merchant
    logins: list[str]
    pending_change: IbanChangeRequest | None
    pending_change_by: str | None
    #: Who asked for its approval, while a second admin has not confirmed it.
    approval_requested_by: str | None = None

    @property
    def categories(self) -> list[str]:
        return sorted(self.merchant.category_set, key=CATEGORIES.index)


def merchants_overview(session: Session, actor: Actor) -> list[MerchantRow]:
    """Every merchant of the municipality: pending ones first, then by name."""
    ensure_role(actor, "admin")
    municipality_id = actor.municipality_id
    if municipality_id is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    merchants = session.execute(
        select(Merchant).where(Merchant.municipality_id == municipality_id).order_by(Merchant.name, Merchant.id)
    ).scalars().all()
    logins: dict[int | None, list[str]] = {}
    for merchant_id, email in session.execute(
        select(User.merchant_id, User.email).where(User.municipality_id == municipality_id, User.merchant_id.is_not(None))
        .order_by(User.email)
    ):
        logins.setdefault(merchant_id, []).append(email)
    changes: dict[int, tuple[IbanChangeRequest | None, str | None]] = {}
    for change, email in session.execute(
        select(IbanChangeRequest, User.email).join(User, User.id == IbanChangeRequest.requested_by_user_id)
        .where(IbanChangeRequest.municipality_id == municipality_id, IbanChangeRequest.status == IBAN_PENDING)
    ):
        changes[change.merchant_id] = (change, email)
    approvals = dict(session.execute(
        select(FourEyesRequest.merchant_id, User.email).join(User, User.id == FourEyesRequest.requested_by_user_id)
        .where(FourEyesRequest.municipality_id == municipality_id, FourEyesRequest.status == REQUEST_PENDING,
               FourEyesRequest.kind == MERCHANT_APPROVE)
    ).all())
    order = {"pending": 0, "approved": 1, "suspended": 2}
    rows = [
        MerchantRow(m, logins.get(m.id, []), *changes.get(m.id, (None, None)), approvals.get(m.id))
        for m in merchants
    ]
    rows.sort(key=lambda r: (order.get(r.merchant.status, 3), r.merchant.name.lower()))
    return rows

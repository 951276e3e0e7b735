"""The back office's services: each takes a session and the acting staff member.

They flush and never commit (the page owns the transaction), check the role
and the municipality themselves, answer ``NotFound`` for another
municipality's records, and write an audit event with every change. Their
messages are Dutch: only the pages call them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.models import User
from ..access.audit import record_audit
from ..access.policy import Actor, same_hands
from ..access.users import create_login
from ..banking import normalise_iban
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..merchants.records import (
    add_merchant,
    clean_merchant_name,
    get_merchant,
    merchant_snapshot,
    rename_merchant,
    set_merchant_status,
)
from ..redeem.models import CATEGORIES, Merchant
from . import requests
from .scope import ADMIN, municipality_of as _municipality, staff as _staff
from .errors import SecondAdminRequired
from .models import (
    IBAN_CANCELLED,
    IBAN_CONFIRMED,
    IBAN_PENDING,
    FourEyesRequest,
    IbanChangeRequest,
)

#: Roles a staff member may give another through the users page.


# -- scope -------------------------------------------------------------------

def _own_merchant(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    try:
        merchant = get_merchant(session, merchant_id)
    except NotFound:
        raise NotFound("no such merchant in this municipality", refusal="merchant_not_found") from None
    if merchant.municipality_id != actor.municipality_id:
        raise NotFound("no such merchant in this municipality", refusal="merchant_not_found")
    return merchant


# -- merchants ---------------------------------------------------------------

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
    municipality_id = _staff(actor, ADMIN)
    merchants = session.execute(
        select(Merchant).where(Merchant.municipality_id == municipality_id).order_by(Merchant.name, Merchant.id)
    ).scalars().all()
    logins: dict[int, list[str]] = {}
    for merchant_id, email in session.execute(
        select(User.merchant_id, User.email).where(User.municipality_id == municipality_id, User.merchant_id.is_not(None))
        .order_by(User.email)
    ):
        logins.setdefault(merchant_id, []).append(email)
    changes: dict[int, tuple[IbanChangeRequest, str]] = {}
    for change, email in session.execute(
        select(IbanChangeRequest, User.email).join(User, User.id == IbanChangeRequest.requested_by_user_id)
        .where(IbanChangeRequest.municipality_id == municipality_id, IbanChangeRequest.status == IBAN_PENDING)
    ):
        changes[change.merchant_id] = (change, email)
    approvals = dict(session.execute(
        select(FourEyesRequest.merchant_id, User.email).join(User, User.id == FourEyesRequest.requested_by_user_id)
        .where(FourEyesRequest.municipality_id == municipality_id, FourEyesRequest.status == "pending",
               FourEyesRequest.kind == "merchant.approve")
    ).all())
    order = {"pending": 0, "approved": 1, "suspended": 2}
    rows = [
        MerchantRow(m, logins.get(m.id, []), *(changes.get(m.id) or (None, None)), approvals.get(m.id))
        for m in merchants
    ]
    rows.sort(key=lambda r: (order.get(r.merchant.status, 3), r.merchant.name.lower()))
    return rows


def add_merchant_by_admin(
    session: Session, actor: Actor, *, name: str, categories: Iterable[str], iban: str, bic: str | None = None,
    kvk_number: str | None = None, address: str | None = None, contact_email: str | None = None,
) -> tuple[Merchant, FourEyesRequest | None]:
    """A new merchant, ``pending`` until a second admin confirms its approval (its IBAN is a payee)."""
    municipality = _municipality(session, actor, ADMIN)
    account = normalise_iban(iban, bic)
    _check_merchant_fields(name, categories, kvk_number, contact_email, required=False)
    try:
        return requests.add_merchant_for_approval(
            session, actor, municipality.code, name=name, categories=list(categories), iban=account.iban,
            bic=account.bic, kvk_number=kvk_number, address=address, contact_email=contact_email,
        )
    except Conflict:
        raise Conflict(f"a merchant is already called {' '.join(name.split())!r}", refusal="merchant_name_taken",
                       name=" ".join(name.split())) from None


_KVK = re.compile(r"^\d{8}$")
_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]{2,}$")


def _check_merchant_fields(
    name: str, categories: Iterable[str], kvk_number: str | None, contact_email: str | None, *, required: bool
) -> None:
    """The checks of ``add_merchant``, first and in Dutch (that service speaks English to the CLI)."""
    _dutch_name(name)
    chosen = [c for c in categories if c]
    if not chosen:
        raise ValidationFailed("choose at least one category", refusal="categories_missing")
    if any(c not in CATEGORIES for c in chosen):
        raise ValidationFailed("unknown category", refusal="category_unknown")
    kvk = (kvk_number or "").replace(" ", "")
    if required and not kvk:
        raise ValidationFailed("the KvK number is missing", refusal="kvk_missing")
    if kvk and not _KVK.match(kvk):
        raise ValidationFailed("a KvK number has 8 digits", refusal="kvk_invalid")
    email = (contact_email or "").strip()
    if required and not email:
        raise ValidationFailed("a contact e-mail address is needed", refusal="contact_email_missing")
    if email and (len(email) > 254 or not _EMAIL.match(email.lower())):
        raise ValidationFailed(f"{email!r} is not an e-mail address", refusal="email_address_invalid", email=email)


def _dutch_name(name: str) -> str:
    """``clean_merchant_name``, the one name rule."""
    return clean_merchant_name(name)


def rename(session: Session, actor: Actor, merchant_id: int, name: str) -> Merchant:
    """Give a merchant of the admin's municipality another name (audit event ``merchant.rename``)."""
    _staff(actor, ADMIN)
    merchant = _own_merchant(session, actor, merchant_id)
    cleaned = _dutch_name(name)
    try:
        return rename_merchant(session, merchant.id, cleaned, actor=actor)
    except Conflict:
        raise Conflict(f"a merchant is already called {cleaned!r}", refusal="merchant_name_taken", name=cleaned) from None


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
    _check_merchant_fields(name, categories, kvk_number, contact_email, required=True)
    if not (address or "").strip():
        raise ValidationFailed("the address is missing", refusal="address_missing")
    if len(address.strip()) > 300:
        raise ValidationFailed("the address is longer than 300 characters", refusal="address_too_long", limit=300)
    account = normalise_iban(iban)
    try:
        return add_merchant(
            session, municipality.code, name=name, categories=list(categories), iban=account.iban, bic=account.bic,
            status="pending", kvk_number=kvk_number, address=address, contact_email=contact_email,
            actor=SIGNUP_ACTOR,
        )
    except Conflict:
        raise Conflict(f"a merchant called {' '.join(name.split())!r} already signed up here", refusal="signup_name_taken",
                       name=" ".join(name.split())) from None


def set_status(
    session: Session, actor: Actor, merchant_id: int, status: str
) -> tuple[Merchant, FourEyesRequest | None]:
    """Suspend a merchant at once, or ask for its approval (or reinstatement), which a second admin confirms."""
    _staff(actor, ADMIN)
    merchant = _own_merchant(session, actor, merchant_id)
    if status not in ("approved", "suspended"):
        raise ValidationFailed("a merchant can only be approved or suspended", refusal="merchant_status_unknown")
    if status == "approved":
        return merchant, requests.request_merchant_approval(session, actor, merchant)
    return set_merchant_status(session, merchant.id, status, actor=actor), None


def _change_snapshot(change: IbanChangeRequest) -> dict[str, Any]:
    return {"merchant_id": change.merchant_id, "old_iban": change.old_iban, "iban": change.iban,
            "bic": change.bic, "status": change.status}


def request_iban_change(
    session: Session, actor: Actor, merchant_id: int, iban: str, bic: str | None = None
) -> IbanChangeRequest:
    """Ask for a new IBAN; it applies only when a second admin confirms (the merchant keeps its old one until then).

    A newer request replaces a pending one (which is cancelled).
    """
    _staff(actor, ADMIN)
    if actor.user_id is None:
        raise SecondAdminRequired("an IBAN change needs a signed-in admin", refusal="iban_change_needs_admin")
    merchant = _own_merchant(session, actor, merchant_id)
    session.execute(select(Merchant.id).where(Merchant.id == merchant.id).with_for_update())
    account = normalise_iban(iban, bic)
    if account.iban == merchant.iban:
        raise ValidationFailed("this already is the merchant's IBAN", refusal="iban_unchanged")
    now = now_utc()
    for old in session.execute(
        select(IbanChangeRequest).where(IbanChangeRequest.merchant_id == merchant.id, IbanChangeRequest.status == IBAN_PENDING)
    ).scalars():
        old.status, old.decided_by_user_id, old.decided_at = IBAN_CANCELLED, actor.user_id, now
        record_audit(session, actor, "merchant.iban_change_cancel", "iban_change", old.id, after=_change_snapshot(old))
    change = IbanChangeRequest(
        municipality_id=merchant.municipality_id, merchant_id=merchant.id, old_iban=merchant.iban,
        old_bic=merchant.bic, iban=account.iban, bic=account.bic, status=IBAN_PENDING,
        requested_by_user_id=actor.user_id, requested_at=now,
    )
    session.add(change)
    session.flush()
    record_audit(session, actor, "merchant.iban_change_request", "iban_change", change.id, after=_change_snapshot(change))
    return change


def _own_change(session: Session, actor: Actor, change_id: int) -> IbanChangeRequest:
    change = session.get(IbanChangeRequest, change_id, with_for_update=True) if isinstance(change_id, int) else None
    if change is None or change.municipality_id != actor.municipality_id:
        raise NotFound("no such IBAN change", refusal="iban_change_not_found")
    if change.status != IBAN_PENDING:
        raise Conflict("this IBAN change was already decided", refusal="iban_change_decided")
    return change


def confirm_iban_change(session: Session, actor: Actor, change_id: int) -> Merchant:
    """A second admin confirms: the merchant is paid to the new IBAN from the next settlement approval on."""
    _staff(actor, ADMIN)
    change = _own_change(session, actor, change_id)
    if same_hands(session, actor.user_id, change.requested_by_user_id):
        raise SecondAdminRequired("another admin, outside the requester's lineage, must confirm this IBAN change",
                                  refusal="iban_change_four_eyes")
    merchant = _own_merchant(session, actor, change.merchant_id)
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


def cancel_iban_change(session: Session, actor: Actor, change_id: int) -> IbanChangeRequest:
    """Withdraw (the requester) or reject (another admin) a pending change."""
    _staff(actor, ADMIN)
    change = _own_change(session, actor, change_id)
    change.status, change.decided_by_user_id, change.decided_at = IBAN_CANCELLED, actor.user_id, now_utc()
    session.flush()
    record_audit(session, actor, "merchant.iban_change_cancel", "iban_change", change.id, after=_change_snapshot(change))
    return change


def create_merchant_login(
    session: Session, actor: Actor, merchant_id: int, email: str | None = None
) -> tuple[User, str]:
    """A login for an approved merchant (its contact address unless another is given); the one-time password."""
    _staff(actor, ADMIN)
    merchant = _own_merchant(session, actor, merchant_id)
    if not merchant.approved:
        raise Conflict("approve the merchant first", refusal="merchant_not_approved")
    address = (email or "").strip() or merchant.contact_email
    if not address:
        raise ValidationFailed("this merchant has no e-mail address", refusal="merchant_email_missing")
    return create_login(session, actor, address, role="merchant", merchant_id=merchant.id)

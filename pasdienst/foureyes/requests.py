"""Four eyes that one person cannot defeat: changes a second admin confirms.

A new admin or finance account, a new password for one, and a merchant that
becomes a payee (approved) are requests. They take effect only when another
admin confirms, and "another" means another person: ``same_hands`` refuses
the requester, anyone the requester sponsored (created or reset the password
of) and anyone sharing a sponsor with them. The requester of an account or a
password is shown its one-time password at once; it works from the
confirmation on, and the requester becomes the account's sponsor.

The operator's command line stays outside this (``pasdienst user add`` and
``pasdienst merchant add`` bootstrap a municipality directly).

Like the back office's services these take the acting admin,
check role and municipality, flush without committing, record their audit
events, and speak Dutch.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.models import User
from ..access.accounts import create_user, normalise_email, set_one_time_password
from ..access.audit import record_audit
from ..access.passwords import one_time_password
from ..access.policy import Actor, ensure_municipality, ensure_role, same_hands
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.services import get_municipality
from ..merchants.models import IbanChangeRequest
from ..merchants.records import add_merchant, merchant_snapshot, set_merchant_status
from ..merchants.models import Merchant
from .errors import SecondAdminRequired
from .models import (
    MERCHANT_APPROVE,
    REQUEST_CANCELLED,
    REQUEST_CONFIRMED,
    REQUEST_PENDING,
    REQUEST_REJECTED,
    USER_CREATE,
    USER_PASSWORD_RESET,
    FourEyesRequest,
)

#: Roles whose accounts and passwords need a second admin: they approve money and changes.
GUARDED_ROLES: tuple[str, ...] = ("admin", "finance")
ROLE_NL = {"admin": "beheerder", "finance": "financiën", "caseworker": "consulent", "merchant": "aanbieder"}
def not_two_people() -> SecondAdminRequired:
    """Why an admin of the requester's lineage may not confirm."""
    return SecondAdminRequired("another admin, outside the requester's lineage, must confirm this request",
                               refusal="request_four_eyes")


def _admin(actor: Actor) -> int:
    ensure_role(actor, "admin")
    if actor.municipality_id is None or actor.user_id is None:
        raise SecondAdminRequired("a request needs a signed-in admin", refusal="request_needs_admin")
    return actor.municipality_id


def _snapshot(request: FourEyesRequest) -> dict[str, Any]:
    return {
        "kind": request.kind, "status": request.status, "requested_by_user_id": request.requested_by_user_id,
        "email": request.email, "role": request.role, "user_id": request.user_id, "merchant_id": request.merchant_id,
    }


def _pending(session: Session, **where: Any) -> list[FourEyesRequest]:
    query = select(FourEyesRequest).where(FourEyesRequest.status == REQUEST_PENDING)
    for name, value in where.items():
        query = query.where(getattr(FourEyesRequest, name) == value)
    return list(session.execute(query.with_for_update()).scalars())


def _new(session: Session, actor: Actor, kind: str, **fields: Any) -> FourEyesRequest:
    request = FourEyesRequest(
        municipality_id=actor.municipality_id, kind=kind, status=REQUEST_PENDING,
        requested_by_user_id=actor.user_id, requested_at=now_utc(), **fields,
    )
    session.add(request)
    session.flush()
    record_audit(session, actor, f"{kind}_request", "four_eyes_request", request.id, after=_snapshot(request))
    return request


# -- asking ------------------------------------------------------------------

def request_account(session: Session, actor: Actor, email: str, role: str) -> tuple[FourEyesRequest, str]:
    """Ask for a new admin or finance account; returns the request and its one-time password.

    The account exists only once a second admin confirms; the address stays
    reserved meanwhile.
    """
    municipality_id = _admin(actor)
    if role not in GUARDED_ROLES:
        raise ValidationFailed("only an admin or finance account needs a second admin", refusal="request_role")
    try:
        address = normalise_email(email)
    except ValidationFailed:
        raise ValidationFailed(f"{email!r} is not an e-mail address", refusal="email_address_invalid", email=email) from None
    if session.execute(select(User.id).where(User.email == address)).scalar() is not None:
        raise Conflict(f"an account with e-mail address {address} exists", refusal="account_exists", email=address)
    if _pending(session, kind=USER_CREATE, email=address):
        raise Conflict(f"an account for {address} is already requested", refusal="account_requested", email=address)
    password, password_hash = one_time_password()
    request = _new(session, actor, USER_CREATE, email=address, role=role, password_hash=password_hash)
    assert request.municipality_id == municipality_id
    return request, password


def request_password_reset(session: Session, actor: Actor, user: User) -> tuple[FourEyesRequest, str]:
    """Ask for a new password for an admin or finance account; returns the request and the one-time password.

    The old password keeps working until a second admin confirms. A newer
    request replaces a pending one.
    """
    _admin(actor)
    ensure_municipality(actor, user.municipality_id)
    if user.role not in GUARDED_ROLES:
        raise ValidationFailed("only an admin's or finance's password needs a second admin", refusal="reset_role")
    if user.id == actor.user_id:
        raise ValidationFailed("change your own password yourself", refusal="reset_own_password")
    for older in _pending(session, kind=USER_PASSWORD_RESET, user_id=user.id):
        _decide(session, actor, older, REQUEST_CANCELLED)
    password, password_hash = one_time_password()
    return _new(session, actor, USER_PASSWORD_RESET, user_id=user.id, password_hash=password_hash), password


def request_merchant_approval(session: Session, actor: Actor, merchant: Merchant) -> FourEyesRequest:
    """Ask for a merchant to be approved (to take passes and be paid to its IBAN)."""
    _admin(actor)
    ensure_municipality(actor, merchant.municipality_id)
    session.execute(select(Merchant.id).where(Merchant.id == merchant.id).with_for_update())
    if merchant.status == "approved":
        raise Conflict(f"{merchant.name} is already approved", refusal="merchant_approved_already", name=merchant.name)
    if _pending(session, kind=MERCHANT_APPROVE, merchant_id=merchant.id):
        raise Conflict(f"the approval of {merchant.name} is already requested", refusal="merchant_approval_requested",
                       name=merchant.name)
    return _new(session, actor, MERCHANT_APPROVE, merchant_id=merchant.id)


def add_merchant_for_approval(
    session: Session, actor: Actor, municipality_code: str, *, status: str = "approved", **fields: Any
) -> tuple[Merchant, FourEyesRequest | None]:
    """An admin adds a merchant: ``pending`` until a second admin confirms its approval.

    ``status`` is what the admin asks for: ``approved`` (the default) makes
    the merchant pending with an approval request; ``pending`` and
    ``suspended`` are stored as they are, without one. ``fields`` are those
    of ``merchants.records.add_merchant`` (whose errors pass through).
    """
    municipality = get_municipality(session, municipality_code)
    ensure_role(actor, "admin")
    ensure_municipality(actor, municipality.id)
    merchant = add_merchant(
        session, municipality.code, status="pending" if status == "approved" else status, actor=actor, **fields
    )
    if status != "approved":
        return merchant, None
    return merchant, request_merchant_approval(session, actor, merchant)


# -- deciding ----------------------------------------------------------------

def _own_request(session: Session, actor: Actor, request_id: int) -> FourEyesRequest:
    request = session.get(FourEyesRequest, request_id, with_for_update=True) if isinstance(request_id, int) else None
    if request is None or request.municipality_id != actor.municipality_id:
        raise NotFound("no such request", refusal="request_not_found")
    if request.status != REQUEST_PENDING:
        raise Conflict("this request was already decided", refusal="request_decided")
    return request


def _decide(session: Session, actor: Actor, request: FourEyesRequest, status: str) -> None:
    request.status, request.decided_by_user_id, request.decided_at = status, actor.user_id, now_utc()
    request.password_hash = None  # confirmed: it moved to the account; otherwise it must never work
    session.flush()
    verb = {REQUEST_CONFIRMED: "confirm", REQUEST_REJECTED: "reject", REQUEST_CANCELLED: "cancel"}[status]
    record_audit(session, actor, f"{request.kind}_{verb}", "four_eyes_request", request.id, after=_snapshot(request))


def refusal(session: Session, actor: Actor, request: FourEyesRequest) -> SecondAdminRequired | None:
    """Why ``actor`` may not confirm ``request`` (None: they may); the page shows it, confirming raises it."""
    if actor.role != "admin":
        return SecondAdminRequired("only an admin confirms requests", refusal="request_needs_admin")
    if same_hands(session, actor.user_id, request.requested_by_user_id):
        return not_two_people()
    if request.kind == USER_PASSWORD_RESET and request.user_id == actor.user_id:
        return SecondAdminRequired("another admin confirms a new password for your own account",
                                   refusal="request_own_password")
    return None


@dataclass(frozen=True)
class Outcome:
    request: FourEyesRequest
    #: What now holds: the new or reset account, or the approved merchant.
    user: User | None = None
    merchant: Merchant | None = None


def confirm_request(session: Session, actor: Actor, request_id: int) -> Outcome:
    """A second person confirms: the account, password or approval takes effect now."""
    _admin(actor)
    request = _own_request(session, actor, request_id)
    refused = refusal(session, actor, request)
    if refused is not None:
        raise refused
    if request.kind == USER_CREATE:
        outcome = _confirm_account(session, actor, request)
    elif request.kind == USER_PASSWORD_RESET:
        outcome = _confirm_password(session, actor, request)
    else:
        outcome = _confirm_merchant(session, actor, request)
    _decide(session, actor, request, REQUEST_CONFIRMED)
    return outcome


def _confirm_account(session: Session, actor: Actor, request: FourEyesRequest) -> Outcome:
    assert request.email and request.role and request.password_hash
    if session.execute(select(User.id).where(User.email == request.email)).scalar() is not None:
        raise Conflict(f"an account with e-mail address {request.email} exists meanwhile", refusal="account_exists_meanwhile",
                       email=request.email)
    user, _ = create_user(
        session, request.email, role=request.role, municipality_code=actor.municipality_code,
        password_hash=request.password_hash, must_change_password=True, actor=actor, sponsor_user_id=request.requested_by_user_id,
    )
    request.user_id = user.id
    return Outcome(request, user=user)


def _confirm_password(session: Session, actor: Actor, request: FourEyesRequest) -> Outcome:
    assert request.password_hash
    user = session.get(User, request.user_id, with_for_update=True)
    if user is None or user.municipality_id != actor.municipality_id:
        raise NotFound("no such account", refusal="account_not_found")
    set_one_time_password(session, user, request.password_hash, sponsor_user_id=request.requested_by_user_id)
    record_audit(
        session, actor, "user.password_reset", "user", user.id,
        after={"requested_by_user_id": request.requested_by_user_id, "four_eyes_request": request.id},
    )
    return Outcome(request, user=user)


def _confirm_merchant(session: Session, actor: Actor, request: FourEyesRequest) -> Outcome:
    merchant = session.get(Merchant, request.merchant_id, with_for_update=True)
    if merchant is None or merchant.municipality_id != actor.municipality_id:
        raise NotFound("no such merchant in this municipality", refusal="merchant_not_found")
    if merchant.status == "approved":
        raise Conflict(f"{merchant.name} is already approved", refusal="merchant_approved_already", name=merchant.name)
    return Outcome(request, merchant=set_merchant_status(session, merchant.id, "approved", actor=actor))


def reject_request(session: Session, actor: Actor, request_id: int) -> FourEyesRequest:
    """Withdraw (the requester) or reject (another admin) a pending request: nothing changes."""
    _admin(actor)
    request = _own_request(session, actor, request_id)
    own = request.requested_by_user_id == actor.user_id
    _decide(session, actor, request, REQUEST_CANCELLED if own else REQUEST_REJECTED)
    return request


# -- reading -----------------------------------------------------------------

@dataclass(frozen=True)
class RequestRow:
    request: FourEyesRequest
    requested_by: str
    #: What is asked, in Dutch, e.g. "Nieuw account: a@b.nl (beheerder)".
    what: str
    #: Facts a confirming admin checks (label, value).
    details: list[tuple[str, str]]
    #: Why this admin may not confirm (None: they may).
    refusal: SecondAdminRequired | None
    #: The acting admin asked for it (and may withdraw it).
    mine: bool

    @property
    def id(self) -> int:
        return self.request.id

    @property
    def requested_at(self) -> datetime:
        return self.request.requested_at


def pending_requests(session: Session, actor: Actor) -> list[RequestRow]:
    """The municipality's pending requests, oldest first, with what the actor may do with each."""
    municipality_id = _admin(actor)
    requests = session.execute(
        select(FourEyesRequest, User.email)
        .join(User, User.id == FourEyesRequest.requested_by_user_id)
        .where(FourEyesRequest.municipality_id == municipality_id, FourEyesRequest.status == REQUEST_PENDING)
        .order_by(FourEyesRequest.id)
    ).all()
    rows = []
    for request, email in requests:
        what, details = _describe(session, request)
        rows.append(RequestRow(
            request, email, what, details, refusal(session, actor, request),
            request.requested_by_user_id == actor.user_id,
        ))
    return rows


@dataclass(frozen=True)
class IbanChangeRow:
    change: IbanChangeRequest
    merchant_name: str
    requested_by: str
    refusal: SecondAdminRequired | None
    mine: bool


def pending_iban_changes(session: Session, actor: Actor) -> list[IbanChangeRow]:
    """The municipality's pending IBAN changes (``merchants.iban.request_change``), for the same page."""
    municipality_id = _admin(actor)
    rows = session.execute(
        select(IbanChangeRequest, Merchant.name, User.email)
        .join(Merchant, Merchant.id == IbanChangeRequest.merchant_id)
        .join(User, User.id == IbanChangeRequest.requested_by_user_id)
        .where(IbanChangeRequest.municipality_id == municipality_id, IbanChangeRequest.status == "pending")
        .order_by(IbanChangeRequest.id)
    ).all()
    return [
        IbanChangeRow(
            change, name, email,
            not_two_people() if same_hands(session, actor.user_id, change.requested_by_user_id) else None,
            change.requested_by_user_id == actor.user_id,
        )
        for change, name, email in rows
    ]


def pending_count(session: Session, municipality_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(FourEyesRequest)
        .where(FourEyesRequest.municipality_id == municipality_id, FourEyesRequest.status == REQUEST_PENDING)
    ).scalar_one()


def _describe(session: Session, request: FourEyesRequest) -> tuple[str, list[tuple[str, str]]]:
    if request.kind == USER_CREATE:
        role = ROLE_NL.get(request.role or "", request.role or "")
        return f"Nieuw account: {request.email} ({role})", [("E-mailadres", request.email or ""), ("Rol", role)]
    if request.kind == USER_PASSWORD_RESET:
        user = session.get(User, request.user_id)
        email, role = (user.email, ROLE_NL.get(user.role, user.role)) if user else ("?", "?")
        return f"Nieuw wachtwoord voor {email} ({role})", [("Account", email), ("Rol", role)]
    merchant = session.get(Merchant, request.merchant_id)
    if merchant is None:
        return "Aanbieder goedkeuren", []
    snapshot = merchant_snapshot(merchant)
    details = [
        ("Naam", merchant.name), ("IBAN", merchant.iban + (f" ({merchant.bic})" if merchant.bic else "")),
        ("Categorieën", snapshot["categories"].replace(",", ", ")),
    ]
    if merchant.kvk_number:
        details.append(("KvK", merchant.kvk_number))
    if merchant.address:
        details.append(("Adres", merchant.address))
    if merchant.contact_email:
        details.append(("Contact", merchant.contact_email))
    return f"Aanbieder goedkeuren: {merchant.name}", details

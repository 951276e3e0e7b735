"""The municipality's logins as its admin manages them (``/admin/gebruikers``):
the list, a new staff login, blocking and unblocking, a new one-time password.

An admin or finance account, and a new password for one, take effect once a
second admin confirms (``foureyes.requests``); a case worker's or a merchant's
at once. Refusals carry their code; the pages say them in Dutch.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationFailed
from ..foureyes import requests
from ..merchants.models import Merchant
from .accounts import create_user, reset_password, set_user_active
from .models import STAFF_ROLES, User
from .policy import Actor, ensure_role

#: The roles an admin gives a new staff login.
ASSIGNABLE_ROLES: tuple[str, ...] = STAFF_ROLES


def _admin_of(actor: Actor) -> int:
    """The admin's municipality id, after checking the role."""
    ensure_role(actor, "admin")
    if actor.municipality_id is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    return actor.municipality_id


def create_login(
    session: Session, actor: Actor, email: str, *, role: str, merchant_id: int | None = None
) -> tuple[User, str]:
    """A login of the admin's municipality (a merchant's: of that merchant) with its one-time password."""
    return create_user(
        session, email, role=role, municipality_code=None if role == "merchant" else actor.municipality_code,
        merchant_id=merchant_id, actor=actor,
    )


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    role: str
    active: bool
    merchant_name: str | None
    last_login_at: datetime | None
    must_change_password: bool


def users_of(session: Session, actor: Actor) -> list[UserRow]:
    """Everyone who can log in for the municipality: staff first, then merchants' logins."""
    municipality_id = _admin_of(actor)
    rows = session.execute(
        select(User, Merchant.name).outerjoin(Merchant, Merchant.id == User.merchant_id)
        .where(User.municipality_id == municipality_id).order_by(User.email)
    ).all()
    order = {"admin": 0, "finance": 1, "caseworker": 2, "merchant": 3}
    found = [
        UserRow(u.id, u.email, u.role, u.active, name, u.last_login_at, u.must_change_password) for u, name in rows
    ]
    found.sort(key=lambda r: (order.get(r.role, 9), r.email))
    return found


@dataclass(frozen=True)
class OneTimePassword:
    """A one-time password to hand over; ``pending``: it works once a second admin confirms."""

    email: str
    password: str
    pending: bool


def add_staff_user(session: Session, actor: Actor, email: str, role: str) -> OneTimePassword:
    """A new staff login with a one-time password: a case worker at once, an admin or
    finance account once a second admin confirms (``requests.request_account``)."""
    _admin_of(actor)
    if role not in ASSIGNABLE_ROLES:
        raise ValidationFailed("choose a role", refusal="role_unknown")
    if role in requests.GUARDED_ROLES:
        request, password = requests.request_account(session, actor, email, role)
        assert request.email is not None
        return OneTimePassword(request.email, password, pending=True)
    user, password = create_login(session, actor, email, role=role)
    return OneTimePassword(user.email, password, pending=False)


def _own_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.municipality_id != actor.municipality_id:
        raise NotFound("no such account", refusal="account_not_found")
    return user


def set_user_access(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Block or unblock a login of the municipality (not one's own: an admin cannot lock themselves out)."""
    _admin_of(actor)
    user = _own_user(session, actor, user_id)
    if user.id == actor.user_id and not active:
        raise Conflict("you cannot block your own account", refusal="block_own_account")
    return set_user_active(session, user.email, active, actor=actor)


def new_one_time_password(session: Session, actor: Actor, user_id: int) -> OneTimePassword:
    """A new one-time password: for a case worker or merchant login at once, for an
    admin or finance account once a second admin confirms."""
    _admin_of(actor)
    user = _own_user(session, actor, user_id)
    if user.role in requests.GUARDED_ROLES:
        _, password = requests.request_password_reset(session, actor, user)
        return OneTimePassword(user.email, password, pending=True)
    return OneTimePassword(user.email, reset_password(session, user.email, actor=actor), pending=False)

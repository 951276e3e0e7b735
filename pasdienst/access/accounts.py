"""User accounts: creating one, logging in with its password, a new or
one-time password, blocking, and the actor an account acts as.

Every function takes the caller's session, flushes and never commits;
refusals carry their code (``email_address_invalid``, ``account_exists``, …)
for the catalogue, their English message for the command line.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..merchants.models import Merchant
from .audit import record_audit
from .errors import Forbidden, Unauthenticated, WeakPassword
from .logins import end_all_sessions
from .models import ROLES, User
from .passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    one_time_password,
    random_password,
    verify_nobody,
    verify_password,
)
from .policy import Actor, ensure_municipality, ensure_role

_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]{2,}$")


def normalise_email(email: str) -> str:
    value = (email or "").strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValidationFailed(f"{email!r} is not an e-mail address", refusal="email_address_invalid", email=email)
    return value


def get_user(session: Session, email: str) -> User:
    user = session.execute(select(User).where(User.email == (email or "").strip().lower())).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user


def create_user(
    session: Session,
    email: str,
    *,
    role: str,
    municipality_code: str | None = None,
    merchant_id: int | None = None,
    password: str | None = None,
    must_change_password: bool | None = None,
    actor: Actor | None = None,
    password_hash: str | None = None,
    sponsor_user_id: int | None = None,
) -> tuple[User, str]:
    """Add a user; returns it with its password (a one-time one unless ``password`` is given).

    Staff roles need ``municipality_code`` and no merchant; ``merchant`` needs
    ``merchant_id`` and takes the merchant's municipality (a given
    ``municipality_code`` must then match it). A one-time password must be
    changed at first login. ``password_hash`` (with ``password``) skips
    hashing again: the demo and test fixtures reuse one hash per password.
    ``sponsor_user_id`` is the admin who saw the password (``User.sponsor_user_id``);
    by default the acting user, none for the command line.
    Raises ``ValidationFailed``, ``NotFound``, ``Conflict``, or ``Forbidden``
    when ``actor`` may not add users there.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "merchant":
        if merchant_id is None:
            raise ValidationFailed("a merchant user needs --merchant (the merchant's id)")
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"no merchant {merchant_id}")
        municipality = session.get(Municipality, merchant.municipality_id)
        assert municipality is not None
        if municipality_code and municipality_code.strip().lower() != municipality.code:
            raise ValidationFailed(f"merchant {merchant_id} belongs to {municipality.code}, not {municipality_code}")
    else:
        if merchant_id is not None:
            raise ValidationFailed(f"only merchant users belong to a merchant; a {role} does not take --merchant")
        if not municipality_code:
            raise ValidationFailed(f"a {role} user needs --municipality (the municipality they work for)")
        municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    if session.execute(select(User.id).where(User.email == email)).scalar() is not None:
        raise Conflict(f"a user {email} already exists", refusal="account_exists", email=email)
    if password is None:
        password = random_password()
        must_change_password = True if must_change_password is None else must_change_password
    else:
        check_password_policy(password, email=email)
    if password_hash is None:
        password_hash = hash_password(password)
    elif not password_hash.startswith("$argon2id$"):
        # Not verified against ``password`` here: that would cost the hash it saves.
        raise ValidationFailed("password_hash must be an argon2id hash")
    user = User(
        email=email,
        password_hash=password_hash,
        role=role,
        municipality_id=municipality.id,
        merchant_id=merchant_id if role == "merchant" else None,
        active=True,
        must_change_password=bool(must_change_password),
        created_at=now_utc(),
        sponsor_user_id=sponsor_user_id if sponsor_user_id is not None else (actor.user_id if actor else None),
    )
    session.add(user)
    session.flush()
    record_audit(session, actor, "user.create", "user", user.id, after=user_snapshot(user), municipality_id=municipality.id)
    return user, password


def user_snapshot(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "role": user.role,
        "municipality_id": user.municipality_id,
        "merchant_id": user.merchant_id,
        "active": user.active,
        "sponsor_user_id": user.sponsor_user_id,
    }


def actor_for(session: Session, user: User) -> Actor:
    code = session.execute(select(Municipality.code).where(Municipality.id == user.municipality_id)).scalar()
    return Actor(
        user_id=user.id,
        email=user.email,
        role=user.role,
        municipality_id=user.municipality_id,
        municipality_code=code,
        merchant_id=user.merchant_id,
    )


def actor_for_email(session: Session, email: str, *, roles: tuple[str, ...] = ROLES) -> Actor:
    """The actor behind ``--by EMAIL`` on the command line: an active user with one of ``roles``."""
    user = session.execute(select(User).where(User.email == (email or "").strip().lower())).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"no active user {email!r}")
    if user.role not in roles:
        raise Forbidden(f"{user.email} is a {user.role}; this needs a {' or '.join(roles)} user")
    return actor_for(session, user)


def authenticate(session: Session, email: str, password: str, *, now: datetime | None = None) -> User:
    """The active user with this e-mail address and password; ``Unauthenticated`` otherwise.

    Takes as long for an unknown address as for a known one. Records the
    login (``last_login_at`` and an audit event) and upgrades an old hash.
    """
    address = (email or "").strip().lower()
    if len(address) > 254 or not _EMAIL.match(address):
        # Not an address at all: saying so at once reveals nothing about who has an account.
        raise Unauthenticated("unknown e-mail address or wrong password")
    user = session.execute(select(User).where(User.email == address)).scalar_one_or_none()
    password = password if isinstance(password, str) else ""
    if user is None:
        verify_nobody(password)
        raise Unauthenticated("unknown e-mail address or wrong password")
    if not verify_password(user.password_hash, password) or not user.active:
        raise Unauthenticated("unknown e-mail address or wrong password")
    if user.merchant_id is not None:
        merchant_status = session.execute(select(Merchant.status).where(Merchant.id == user.merchant_id)).scalar()
        if merchant_status != "approved":
            # Only after the password check: a wrong password learns nothing about the merchant.
            raise Unauthenticated("this merchant is not (or no longer) approved")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now or now_utc()
    session.flush()
    record_audit(session, actor_for(session, user), "user.login", "user", user.id)
    return user


def change_password(session: Session, user_id: int, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one; clears ``must_change_password``."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthenticated("no such active user")
    if not verify_password(user.password_hash, current_password or ""):
        raise Unauthenticated("the current password is wrong")
    check_password_policy(new_password, email=user.email)
    if verify_password(user.password_hash, new_password):
        raise WeakPassword("the new password must differ from the current one", reason="unchanged",
                           refusal="password_unchanged")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    end_all_sessions(session, user.id)
    session.flush()
    record_audit(session, actor_for(session, user), "user.password_change", "user", user.id)
    return user


def reset_password(session: Session, email: str, *, actor: Actor | None = None) -> str:
    """A new one-time password for ``email`` (forgotten password); revokes nothing else.

    The actor becomes the account's sponsor (none for the command line).
    """
    user = get_user(session, email)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, user.municipality_id)
    password, password_hash = one_time_password()
    set_one_time_password(session, user, password_hash, sponsor_user_id=actor.user_id if actor else None)
    record_audit(session, actor, "user.password_reset", "user", user.id, municipality_id=user.municipality_id)
    return password


def set_one_time_password(session: Session, user: User, password_hash: str, *, sponsor_user_id: int | None) -> None:
    """Give ``user`` a one-time password (by its hash) handed over by ``sponsor_user_id``.

    Ends the user's sessions; records nothing.
    """
    user.password_hash = password_hash
    user.must_change_password = True
    user.sponsor_user_id = sponsor_user_id
    end_all_sessions(session, user.id)
    session.flush()


def set_user_active(session: Session, email: str, active: bool, *, actor: Actor | None = None) -> User:
    """Block or unblock a login; a blocked user's sessions and tokens stop working at once."""
    user = get_user(session, email)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, user.municipality_id)
    before = user_snapshot(user)
    user.active = active
    if not active:
        # Unblocking later must not bring the old sessions back.
        end_all_sessions(session, user.id)
    session.flush()
    record_audit(
        session, actor, "user.activate" if active else "user.deactivate", "user", user.id,
        before=before, after=user_snapshot(user), municipality_id=user.municipality_id,
    )
    return user

"""Users, passwords, sessions, four eyes, API tokens and reading the audit log.

The actor and the scope checks live in ``policy``, the audit writer in
``audit`` (both below the municipalities' services, which use them); they
are re-exported here.

Every function takes the caller's session, flushes and never commits.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..redeem.models import Merchant
from .audit import record_audit as record_audit
from .audit import scrub as scrub
from .errors import Forbidden, Unauthenticated, WeakPassword
from .models import ROLES, ApiToken, AuditEvent, LoginSession, User
# Re-exported: most callers import the actor and the scope checks from here.
from .policy import CLI_ACTOR as CLI_ACTOR
from .policy import Actor as Actor
from .policy import ensure_merchant as ensure_merchant
from .policy import ensure_municipality as ensure_municipality
from .policy import ensure_role as ensure_role

#: argon2id with the library's defaults (RFC 9106's second recommendation:
#: 64 MiB, 3 passes, 4 lanes): about 0.2 s per hash on one core.
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
TOKEN_PREFIX = "pd_"
#: ``last_used_at`` of a token is written at most this often.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)

_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]{2,}$")
_TOKEN = re.compile(r"^pd_[A-Za-z0-9_-]{43}$")

# -- passwords ---------------------------------------------------------------

def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the e-mail address is unknown, so that the answer
    # takes as long as for a known one and does not reveal who has an account.
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str, *, email: str | None = None) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", reason="too_short",
                           refusal="password_too_short", limit=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD_LENGTH} characters", reason="too_long",
                           refusal="password_too_long", limit=MAX_PASSWORD_LENGTH)
    if email and password.strip().lower() == email.lower():
        raise WeakPassword("a password cannot be the e-mail address", reason="is_email", refusal="password_is_email")


def _one_time_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


# -- users -------------------------------------------------------------------

def normalise_email(email: str) -> str:
    value = (email or "").strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValidationFailed(f"{email!r} is not an e-mail address")
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
        raise Conflict(f"a user {email} already exists")
    if password is None:
        password = _one_time_password()
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


def _merchant_may_log_in():  # noqa: ANN202
    """Staff, or a merchant user whose merchant is approved (a pending or
    suspended merchant can neither log in nor keep a session or token going)."""
    return or_(User.merchant_id.is_(None), Merchant.status == "approved")


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


def load_actor(session: Session, user_id: int) -> Actor | None:
    """The actor for an active user id, or None."""
    found = _active_user(session, _ACTIVE_USER, {"user_id": user_id})
    return None if found is None else found[0]


def load_session_user(session: Session, user_id: int, session_key: str) -> tuple[Actor, str, bool] | None:
    """For every session request, in one query: the actor of an active user
    whose login ``session_key`` has not ended, its ``session_version`` and
    whether it still has a one-time password."""
    return _active_user(session, _SESSION_USER, {"user_id": user_id, "key_hash": _session_key_hash(session_key)})


# Built once: this runs on every request of a logged-in page or till.
_ACTIVE_USER = (
    select(User, Municipality.code)
    .join(Municipality, Municipality.id == User.municipality_id)
    .outerjoin(Merchant, Merchant.id == User.merchant_id)
    .where(User.id == bindparam("user_id"), User.active.is_(True), _merchant_may_log_in())
)
_SESSION_USER = _ACTIVE_USER.where(
    exists().where(LoginSession.key_hash == bindparam("key_hash"), LoginSession.user_id == User.id)
)


def _active_user(session: Session, statement: Any, params: dict[str, Any]) -> tuple[Actor, str, bool] | None:
    row = session.execute(statement, params).first()
    if row is None:
        return None
    user, code = row
    actor = Actor(user.id, user.email, user.role, user.municipality_id, code, user.merchant_id)
    return actor, session_version(user), user.must_change_password


# -- sessions ----------------------------------------------------------------

#: A login's row goes at the user's next login once it is this old; the
#: cookie of an idle session has expired long before (12 hours).
SESSION_RECORD_DAYS = 30


def _session_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(session: Session, user_id: int, *, now: datetime | None = None) -> str:
    """A new login for ``user_id``; returns the key its session cookie carries."""
    moment = now or now_utc()
    session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user_id, LoginSession.created_at < moment - timedelta(days=SESSION_RECORD_DAYS)
        )
    )
    key = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user_id, key_hash=_session_key_hash(key), created_at=moment))
    session.flush()
    return key


def end_session(session: Session, user_id: int, session_key: str) -> None:
    """Logout: this login's cookie, and every copy of it, stops working."""
    session.execute(
        delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.key_hash == _session_key_hash(session_key))
    )


def end_all_sessions(session: Session, user_id: int) -> None:
    """Every login of ``user_id`` ends (new password, reset, blocked)."""
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


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
        _verify(_dummy_hash(), password)
        raise Unauthenticated("unknown e-mail address or wrong password")
    if not _verify(user.password_hash, password) or not user.active:
        raise Unauthenticated("unknown e-mail address or wrong password")
    if user.merchant_id is not None:
        merchant_status = session.execute(select(Merchant.status).where(Merchant.id == user.merchant_id)).scalar()
        if merchant_status != "approved":
            # Only after the password check: a wrong password learns nothing about the merchant.
            raise Unauthenticated("this merchant is not (or no longer) approved")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now or now_utc()
    session.flush()
    record_audit(session, actor_for(session, user), "user.login", "user", user.id)
    return user


def session_version(user: User) -> str:
    """Changes whenever the password does: a second lock, besides the login's
    row (``start_session``), that a new password ends every other session."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def change_password(session: Session, user_id: int, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one; clears ``must_change_password``."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthenticated("no such active user")
    if not _verify(user.password_hash, current_password or ""):
        raise Unauthenticated("the current password is wrong")
    check_password_policy(new_password, email=user.email)
    if _verify(user.password_hash, new_password):
        raise WeakPassword("the new password must differ from the current one", reason="unchanged",
                           refusal="password_unchanged")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    end_all_sessions(session, user.id)
    session.flush()
    record_audit(session, actor_for(session, user), "user.password_change", "user", user.id)
    return user


def one_time_password() -> tuple[str, str]:
    """A new one-time password and its hash."""
    password = _one_time_password()
    return password, hash_password(password)


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


# -- four eyes ---------------------------------------------------------------

#: Deeper sponsor chains than this are not followed (none is expected to be).
_MAX_LINEAGE = 64


def lineage(session: Session, user_id: int) -> set[int]:
    """``user_id`` and every admin up its chain of sponsors.

    Whoever saw an account's one-time password could have used it, and an
    account so used could have sponsored the next: one person may stand
    behind every account of a lineage.
    """
    found: set[int] = set()
    current: int | None = user_id
    while current is not None and current not in found and len(found) < _MAX_LINEAGE:
        found.add(current)
        current = session.execute(select(User.sponsor_user_id).where(User.id == current)).scalar()
    return found


def same_hands(session: Session, one_user_id: int | None, other_user_id: int | None) -> bool:
    """True unless the two accounts are surely two people for a four-eyes check.

    They are not when either is missing (the command line, a deleted
    account), when they are the same account, or when their lineages meet:
    one sponsored the other (directly or up the chain), or one admin
    sponsored both. See docs/SECURITY.md, "Four eyes".
    """
    if one_user_id is None or other_user_id is None:
        return True
    return bool(lineage(session, one_user_id) & lineage(session, other_user_id))


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


# -- API tokens --------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, email: str, name: str | None = None, *, actor: Actor | None = None) -> str:
    """A new API token for an active user; returned once, stored only as its SHA-256."""
    user = get_user(session, email)
    if not user.active:
        raise ValidationFailed(f"user {user.email} is blocked")
    if actor is not None and actor.user_id != user.id:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, user.municipality_id)
    name = (name or "").strip() or None
    if name and len(name) > 100:
        raise ValidationFailed("a token name is at most 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name, created_at=now_utc())
    session.add(row)
    session.flush()
    record_audit(
        session, actor, "token.create", "api_token", row.id,
        after={"user": user.email, "name": name}, municipality_id=user.municipality_id,
    )
    return token


@dataclass(frozen=True)
class TokenUse:
    """What a request needs of its API token: which one, and when it was last recorded."""

    id: int
    last_used_at: datetime | None


# Every API call runs this: columns through Core, not entities through the
# ORM (a fifth of the cost; scripts/bench_redeem.py).
_TOKEN_LOOKUP = (
    select(
        User.id, User.email, User.role, User.municipality_id, User.merchant_id, Municipality.code,
        ApiToken.id.label("token_id"), ApiToken.last_used_at,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .join(Municipality, Municipality.id == User.municipality_id)
    .outerjoin(Merchant, Merchant.id == User.merchant_id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True),
        _merchant_may_log_in(),
    )
)


def lookup_token(session: Session, token: str) -> tuple[Actor, TokenUse] | None:
    """The actor and live token for ``token`` (of an active user), or None. One query; reads only."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    row = session.connection().execute(_TOKEN_LOOKUP, {"token_hash": _token_hash(token)}).first()
    if row is None:
        return None
    actor = Actor(row.id, row.email, row.role, row.municipality_id, row.code, row.merchant_id)
    return actor, TokenUse(row.token_id, row.last_used_at)


def touch_token(session: Session, token_id: int, *, now: datetime | None = None) -> None:
    """Record use of a token, at most every ``TOKEN_TOUCH_INTERVAL`` (one guarded UPDATE)."""
    moment = now or now_utc()
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < moment - TOKEN_TOUCH_INTERVAL))
        .values(last_used_at=moment)
    )


def token_needs_touch(token: ApiToken | TokenUse, *, now: datetime | None = None) -> bool:
    moment = now or now_utc()
    return token.last_used_at is None or token.last_used_at < moment - TOKEN_TOUCH_INTERVAL


def user_for_token(session: Session, token: str) -> User | None:
    """The active user behind a live token (and records its use), or None."""
    found = lookup_token(session, token)
    if found is None:
        return None
    actor, row = found
    if token_needs_touch(row):
        touch_token(session, row.id)
    return session.get(User, actor.user_id)


def revoke_token(session: Session, token_id: int, *, actor: Actor | None = None) -> ApiToken:
    """Stop a token at once. Revoking twice is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token {token_id}")
    owner = session.get(User, row.user_id)
    assert owner is not None
    if actor is not None and actor.user_id != owner.id:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, owner.municipality_id)
    if row.revoked_at is None:
        row.revoked_at = now_utc()
        session.flush()
        record_audit(
            session, actor, "token.revoke", "api_token", row.id,
            before={"user": owner.email, "name": row.name}, municipality_id=owner.municipality_id,
        )
    return row


# -- audit -------------------------------------------------------------------

def audit_events(
    session: Session,
    actor: Actor,
    municipality_code: str,
    *,
    limit: int = 100,
    before_id: int | None = None,
    action: str | None = None,
    actor_email: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """The newest audit events of a municipality, for its admins.

    Filters: ``action`` matches a whole action (``merchant.status``) or, ending
    in a dot, a group (``merchant.``); ``actor_email`` part of the e-mail
    address; ``entity_type``/``entity_id`` exactly; ``since`` (inclusive) and
    ``until`` (exclusive) instants.
    """
    municipality = get_municipality(session, municipality_code)
    ensure_role(actor, "admin", "system")
    ensure_municipality(actor, municipality.id)
    if not 1 <= limit <= 500:
        raise ValidationFailed("limit must be between 1 and 500")
    query = select(AuditEvent).where(AuditEvent.municipality_id == municipality.id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action:
        if action.endswith("."):
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if actor_email:
        query = query.where(AuditEvent.actor_email.contains(actor_email.strip().lower(), autoescape=True))
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    return list(session.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).scalars())

"""Logins and their sessions: the row each login keeps (``access_session``),
and the one query every logged-in request runs to find its actor.

A session cookie carries a key whose SHA-256 is the login's row; logging
out, a new password or a blocked account delete the rows, so every copy of
the cookie stops working at once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, or_, select
from sqlalchemy.orm import Session

from ..clock import now_utc
from ..municipalities.models import Municipality
from ..merchants.models import Merchant
from .models import LoginSession, User
from .policy import Actor

def merchant_may_log_in():
    """Staff, or a merchant user whose merchant is approved (a pending or
    suspended merchant can neither log in nor keep a session or token going)."""
    return or_(User.merchant_id.is_(None), Merchant.status == "approved")


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
    .where(User.id == bindparam("user_id"), User.active.is_(True), merchant_may_log_in())
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


def session_version(user: User) -> str:
    """Changes whenever the password does: a second lock, besides the login's
    row (``start_session``), that a new password ends every other session."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]

"""API tokens (``pd_…``): made once and shown once, stored only as their
SHA-256, looked up in one query per API call, revoked at once."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..clock import now_utc
from ..errors import NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..merchants.models import Merchant
from .accounts import get_user
from .audit import record_audit
from .logins import merchant_may_log_in
from .models import ApiToken, User
from .policy import Actor, ensure_municipality, ensure_role

TOKEN_PREFIX = "pd_"


#: ``last_used_at`` of a token is written at most this often.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


_TOKEN = re.compile(r"^pd_[A-Za-z0-9_-]{43}$")


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
        merchant_may_log_in(),
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

"""The unsubscribe link of every reminder: ``PASDIENST_BASE_URL/afmelden/<token>``.

The token names a municipality and an address, signed with the service's
keys (itsdangerous, its own salt; the newest key signs, every key verifies,
so a rotation does not break links in e-mails already sent). It carries the
address only as a keyed hash: the link in a forwarded e-mail or a proxy log
tells nothing about whom it was sent to. The opt-out is stored per
municipality and address hash (``mail_opt_out``); every later run skips the
address, whichever of its children or household it is about.
"""
from __future__ import annotations

import re
from typing import Any, cast
from collections.abc import Iterable

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import CursorResult, func, select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor
from ..config import Settings
from ..db import insert_ignoring_conflicts
from ..errors import NotFound
from ..municipalities.models import Municipality
from ..wallet.keys import keyed_hash, matching_key
from .models import MailOptOut

SALT = "pasdienst.unsubscribe.v1"
EMAIL = b"pasdienst.email.v1"
_HASH = re.compile(r"^[0-9a-f]{32}$")
#: Who the audit log names for an opt-out: the holder of the link, not a staff member.
LINK_ACTOR_EMAIL = "afmeldlink"


def normalise(email: str) -> str:
    return email.strip().lower()


def email_hash(settings: Settings, email: str) -> str:
    """The keyed hash an opt-out is stored under (32 hex; stable when a key is added)."""
    return keyed_hash(matching_key(settings, EMAIL), "email:" + normalise(email))[:32]


def _serializer(settings: Settings) -> URLSafeSerializer:
    # itsdangerous takes the key list oldest first: the last one signs, all verify.
    return URLSafeSerializer(list(settings.secret_keys), salt=SALT)


def opt_out_token(settings: Settings, municipality_id: int, email: str) -> str:
    return str(_serializer(settings).dumps([municipality_id, email_hash(settings, email)]))


def opt_out_url(settings: Settings, municipality_id: int, email: str) -> str:
    return f"{settings.base_url}/afmelden/{opt_out_token(settings, municipality_id, email)}"


def read_token(settings: Settings, token: str) -> tuple[int, str]:
    """(municipality id, address hash) of a token that verifies; ``NotFound`` otherwise."""
    try:
        value = _serializer(settings).loads(token) if len(token) <= 200 else None
    except BadData:
        value = None
    if (
        not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int) or isinstance(value[0], bool)
        or not isinstance(value[1], str) or not _HASH.match(value[1])
    ):
        raise NotFound("this unsubscribe link does not verify")
    return value[0], value[1]


def municipality_of(session: Session, settings: Settings, token: str) -> tuple[Municipality, str, bool]:
    """The municipality a link is from, the address hash, and whether it opted out already."""
    municipality_id, hashed = read_token(settings, token)
    municipality = session.get(Municipality, municipality_id)
    if municipality is None:
        raise NotFound("this unsubscribe link does not verify")
    done = session.get(MailOptOut, (municipality_id, hashed)) is not None
    return municipality, hashed, done


def opt_out(session: Session, settings: Settings, token: str) -> tuple[Municipality, bool]:
    """Record the opt-out a link asks for (again: nothing new). Returns the municipality and
    whether this call recorded it. Audited as ``reminder.opt_out`` (without the address)."""
    municipality, hashed, done = municipality_of(session, settings, token)
    if done:
        return municipality, False
    # Two clicks at once (the mail client's one-click POST and the page): one row.
    added = cast("CursorResult[Any]", session.execute(
        insert_ignoring_conflicts(session, MailOptOut).values(municipality_id=municipality.id, email_hash=hashed)
    )).rowcount
    if added:
        link = Actor(user_id=None, email=LINK_ACTOR_EMAIL, role="public", municipality_id=municipality.id,
                     municipality_code=municipality.code)
        record_audit(session, link, "reminder.opt_out", "municipality", municipality.id, after={"addresses": 1})
    return municipality, bool(added)


def opted_out(session: Session, settings: Settings, municipality_id: int, emails: Iterable[str]) -> set[str]:
    """Those of ``emails`` (normalised) that opted out in this municipality."""
    by_hash = {email_hash(settings, e): normalise(e) for e in emails}
    if not by_hash:
        return set()
    found: set[str] = set()
    hashes = list(by_hash)
    for start in range(0, len(hashes), 500):  # bound the IN list
        found |= set(
            session.scalars(
                select(MailOptOut.email_hash).where(
                    MailOptOut.municipality_id == municipality_id, MailOptOut.email_hash.in_(hashes[start:start + 500])
                )
            )
        )
    return {by_hash[h] for h in found}


def all_opted_out(session: Session, municipality_id: int) -> set[str]:
    """Every opted-out address hash of a municipality (a reminder run reads them once)."""
    return set(session.scalars(select(MailOptOut.email_hash).where(MailOptOut.municipality_id == municipality_id)))


def opt_out_count(session: Session, municipality_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(MailOptOut).where(MailOptOut.municipality_id == municipality_id)) or 0)

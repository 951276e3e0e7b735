"""The audit log's writer: one event per staff action, in the caller's
transaction, without secrets or personal data.

Below every service (the municipalities' too), so it imports none of them;
reading the log (``audit_events``) is scoped like any other query.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import now_utc
from ..errors import NotFound, ValidationFailed
from ..municipalities.models import Municipality
from .models import AUDIT_ACTIONS, AuditEvent
from .policy import CLI_ACTOR, Actor, ensure_municipality, ensure_role

#: Snapshot keys containing any of these never reach the audit log: secrets,
#: and personal data the log has no need for (DOMAIN.md §3.9).
_SECRET_KEY_PARTS = ("bsn", "token", "password", "income", "secret", "birth_date")


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items() if not _is_secret(str(k))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def scrub(snapshot: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``snapshot`` as plain JSON without secret or personal keys (bsn, token, password, income…)."""
    if snapshot is None:
        return None
    return _jsonable(snapshot)


def record_audit(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    *,
    municipality_id: int | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction (it commits or rolls back with the change).

    ``actor`` None means the command line. ``municipality_id`` defaults to
    the actor's. Secret and personal keys are removed from the snapshots.
    """
    if action not in AUDIT_ACTIONS:
        # A programming error, found by the tests: an action the pages could not name in Dutch.
        raise ValueError(f"audit action {action!r} is not in pasdienst.access.models.AUDIT_ACTIONS")
    actor = actor or CLI_ACTOR
    event = AuditEvent(
        at=now_utc(),
        actor_user_id=actor.user_id,
        actor_email=actor.email,
        municipality_id=municipality_id if municipality_id is not None else actor.municipality_id,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=scrub(before),
        after=scrub(after),
    )
    session.add(event)
    session.flush()
    return event


# -- reading -----------------------------------------------------------------

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
    ensure_role(actor, "admin", "system")
    # By the model, not the municipalities' service: that one records its
    # changes here, so this module stays below it.
    municipality_id = session.execute(
        select(Municipality.id).where(Municipality.code == (municipality_code or "").strip().lower())
    ).scalar()
    if municipality_id is None:
        raise NotFound(f"no municipality {municipality_code!r}", refusal="municipality_not_found")
    ensure_municipality(actor, municipality_id)
    if not 1 <= limit <= 500:
        raise ValidationFailed("limit must be between 1 and 500")
    query = select(AuditEvent).where(AuditEvent.municipality_id == municipality_id)
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

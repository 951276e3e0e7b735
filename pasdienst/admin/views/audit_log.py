"""The audit log page with its filters."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from flask import request
from flask.typing import ResponseReturnValue

from ... import labels
from ...access.audit import audit_events
from ...access.web import current_actor, requires
from ...clock import AMSTERDAM
from ...errors import ValidationFailed
from ...web import dutch, parsing
from ...web.validators import MAX_BIG_ID
from .. import auditlog
from ._common import (
    _db,
    _page,
    bp,
)


def _day(raw: str) -> datetime | None:
    """A ``YYYY-MM-DD`` from a date field as the start of that day in Amsterdam (None if empty)."""
    if not raw:
        return None
    found = parsing.day(raw)
    if found is None:
        raise ValidationFailed(f"a date is YYYY-MM-DD, from {parsing.YEAR_MIN} to {parsing.YEAR_MAX}", refusal="date_format",
                               low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    return datetime.combine(found, time.min, AMSTERDAM)


#: Audit action groups offered in the log's filter (value, Dutch label).
AUDIT_GROUPS = (
    ("", "Alle handelingen"),
    ("pass.", "Passen"),
    ("child.", "Kinderen"),
    ("children.", "Import kinderen"),
    ("scheme.", "Regeling"),
    ("budget.", "Budget"),
    ("merchant.", "Aanbieders"),
    ("user.", "Gebruikers"),
    ("token.", "API-sleutels"),
    ("caseworker_cap.", "Jaarlimiet consulenten"),
    ("team.", "Teams"),
    ("fund.", "Fondsen"),
    ("maatwerk.", "Maatwerk"),
    ("municipality.", "Gemeente-instellingen"),
    ("settlement.", "Afrekeningen"),
    ("cooperation.", "Samenwerking"),
    ("job.", "Taken"),
    ("year.", "Jaarafsluiting"),
)


@bp.get("/admin/auditlog")
@requires("admin")
def audit_log() -> ResponseReturnValue:
    actor = current_actor()
    assert actor.municipality_code is not None
    filters = {name: (request.args.get(name) or "").strip() for name in ("action", "actor", "entity_type", "entity_id", "from", "to")}
    if filters["action"] not in {value for value, _ in AUDIT_GROUPS} and not filters["action"].replace(".", "").replace("_", "").isalnum():
        filters["action"] = ""
    try:
        since = _day(filters["from"])
        until = _day(filters["to"])
    except ValidationFailed as exc:
        # The filter says what is wrong rather than showing everything as if filtered.
        return _page("access/audit_log.html", 422, rows=[], filters=filters, groups=AUDIT_GROUPS, active="auditlog",
                     entity_types=list(labels.ENTITY_TITLES), older=None, error=dutch.refusal(exc))
    before_id = parsing.whole_number(request.args.get("before"), low=1, high=MAX_BIG_ID)
    with _db().read() as session:
        events = audit_events(
            session, actor, actor.municipality_code, limit=100, before_id=before_id,
            action=filters["action"] or None, actor_email=filters["actor"] or None,
            entity_type=filters["entity_type"] or None, entity_id=filters["entity_id"] or None,
            since=since, until=until + timedelta(days=1) if until else None,
        )
        rows = auditlog.audit_rows(session, actor, events)
    older = None
    if len(events) == 100:
        older = "/admin/auditlog?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": events[-1].id})
    return _page("access/audit_log.html", rows=rows, filters=filters, groups=AUDIT_GROUPS, active="auditlog",
                 entity_types=list(labels.ENTITY_TITLES), older=older, error=None)

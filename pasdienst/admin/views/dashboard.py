"""The dashboard, ``/admin``."""
from __future__ import annotations

from flask.typing import ResponseReturnValue

from ...access.web import current_actor, requires
from .. import auditlog
from ..dashboard import dashboard as dashboard_of
from ._common import (
    _db,
    _page,
    _today,
    bp,
)


@bp.get("/admin")
@requires("admin", "caseworker")
def dashboard() -> ResponseReturnValue:
    actor = current_actor()
    with _db().read() as session:
        board = dashboard_of(session, actor, today=_today())
        rows = auditlog.audit_rows(session, actor, board.recent_events) if board.recent_events else []
    return _page("admin/dashboard.html", board=board, rows=rows, active="dashboard")

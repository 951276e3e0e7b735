"""The budget: overview, top-up and the warning threshold."""
from __future__ import annotations

import uuid

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ... import fields
from ...access.web import current_actor, requires
from ...municipalities.services import set_budget_threshold, topup_budget
from ...web.dutch import notice
from ...web.writes import change
from ..dashboard import budget_overview
from ._common import (
    _db,
    _form,
    _page,
    bp,
)


@bp.get("/admin/budget")
@requires("admin")
def budget() -> ResponseReturnValue:
    with _db().read() as session:
        overview = budget_overview(session, current_actor())
    return _page("admin/budget.html", b=overview, form_key=uuid.uuid4().hex, active="budget")


@bp.post("/admin/budget/ophogen")
@requires("admin")
def budget_topup() -> ResponseReturnValue:
    actor = current_actor()
    form_key = _form("form_key")
    # The form's one-off key makes a double click or a resubmitted form top up once.
    key = f"admin:topup:{actor.municipality_code}:{form_key}"[:200] if form_key else None

    def work(session: Session) -> int:
        cents = fields.euros(_form("amount"), field="amount")
        topup_budget(session, actor.municipality_code or "", cents, reference=_form("reference"), idempotency_key=key,
                     actor=actor)
        return cents

    return change(
        work,
        success=lambda cents: notice("budget_raised", added_cents=cents),
        target="/admin/budget",
    )


@bp.post("/admin/budget/grens")
@requires("admin")
def budget_threshold() -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: set_budget_threshold(s, actor.municipality_code or "", fields.euros(_form("threshold"), field="threshold",
                                                                                     positive=False), actor=actor),
        success=lambda cents: notice("budget_threshold_set", threshold_cents=cents) if cents else notice("budget_threshold_off"),
        target="/admin/budget",
    )

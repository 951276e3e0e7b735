"""The four-eyes requests waiting for a second admin."""
from __future__ import annotations

from flask import redirect, request
from flask.typing import ResponseReturnValue

from ... import labels
from ...access.web import current_actor, requires
from ...web.dutch import Notice, notice
from ...web.writes import change, tell
from ...foureyes import requests
from ._common import (
    _db,
    _page,
    bp,
)


@bp.get("/admin/verzoeken")
@requires("admin")
def pending_requests() -> ResponseReturnValue:
    actor = current_actor()
    with _db().read() as session:
        rows = requests.pending_requests(session, actor)
        changes = requests.pending_iban_changes(session, actor)
    return _page("admin/requests.html", rows=rows, changes=changes, active="requests")


@bp.post("/admin/verzoeken/<int:request_id>/bevestigen")
@requires("admin")
def request_confirm(request_id: int) -> ResponseReturnValue:
    actor = current_actor()
    if request.form.get("checked") != "1":
        # The confirmation step: the admin states they checked what they confirm.
        tell(notice("request_not_checked"), "error")
        return redirect("/admin/verzoeken")
    return change(
        lambda s: _confirmed(requests.confirm_request(s, actor, request_id)),
        success=lambda message: message,
        target="/admin/verzoeken",
    )


def _confirmed(outcome: requests.Outcome) -> Notice:
    """What now holds after a confirmation, for the flash message."""
    if outcome.request.kind == requests.USER_CREATE and outcome.user is not None:
        role = labels.ROLE_TITLES.get(outcome.user.role, outcome.user.role).lower()
        return notice("request_account_created", email=outcome.user.email, role_name=role)
    if outcome.request.kind == requests.USER_PASSWORD_RESET and outcome.user is not None:
        return notice("request_password_reset", email=outcome.user.email)
    if outcome.merchant is not None:
        return notice("request_merchant_approved", name=outcome.merchant.name, iban=outcome.merchant.iban)
    return notice("request_confirmed")


@bp.post("/admin/verzoeken/<int:request_id>/afwijzen")
@requires("admin")
def request_reject(request_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: requests.reject_request(s, actor, request_id),
        success=lambda r: notice("request_cancelled" if r.status == "cancelled" else "request_rejected"),
        target="/admin/verzoeken",
    )

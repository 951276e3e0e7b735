"""The four-eyes requests waiting for a second admin."""
from __future__ import annotations

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue

from ... import labels
from ...access.web import current_actor, requires
from ...web.writes import change
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
        flash("Vink eerst aan dat u het verzoek hebt gecontroleerd.", "error")
        return redirect("/admin/verzoeken")
    return change(
        lambda s: _confirmed(requests.confirm_request(s, actor, request_id)),
        success=lambda message: message,
        target="/admin/verzoeken",
    )


def _confirmed(outcome: requests.Outcome) -> str:
    """What now holds after a confirmation, for the flash message."""
    if outcome.request.kind == requests.USER_CREATE and outcome.user is not None:
        return (f"Het account {outcome.user.email} ({labels.ROLE_TITLES.get(outcome.user.role, outcome.user.role).lower()}) "
                "bestaat nu; het eenmalige wachtwoord van de aanvrager werkt vanaf nu.")
    if outcome.request.kind == requests.USER_PASSWORD_RESET and outcome.user is not None:
        return (f"Het nieuwe wachtwoord van {outcome.user.email} werkt nu; het oude niet meer "
                "en open sessies zijn beëindigd.")
    if outcome.merchant is not None:
        return f"{outcome.merchant.name} is goedgekeurd: zij kan inloggen en wordt betaald op {outcome.merchant.iban}."
    return "Het verzoek is bevestigd."


@bp.post("/admin/verzoeken/<int:request_id>/afwijzen")
@requires("admin")
def request_reject(request_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: requests.reject_request(s, actor, request_id),
        success=lambda r: "Het verzoek is ingetrokken; er is niets veranderd." if r.status == "cancelled"
        else "Het verzoek is afgewezen; er is niets veranderd.",
        target="/admin/verzoeken",
    )

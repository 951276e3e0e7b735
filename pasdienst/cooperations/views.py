"""``/admin/samenwerking``: the municipality's cooperation, for its own admins.

An invited municipality's admin joins (or declines); a member's admin sees
the members and the merchants that take its passes, admits and withdraws
its own merchants, and may leave; the lead's admin invites municipalities.
Each form posts, calls one service in one transaction and redirects with a
Dutch message (POST-redirect-GET).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.web import current_actor, requires
from ..db import Database
from ..errors import NotFound
from ..labels import PAYOUT_TITLES
from ..municipalities.models import Municipality
from ..merchants.models import Merchant
from ..web.extensions import get_db
from ..web.dutch import Notice, notice
from ..web.writes import change, tell
from . import finance_views, services
from .models import ACTIVE, CooperationMerchant

bp = Blueprint("cooperations", __name__)

T = TypeVar("T")
PAGE = "/admin/samenwerking"


def _db() -> Database:
    return get_db(current_app)


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _change(work: Callable[[Session], T], success: Callable[[T], Notice]) -> ResponseReturnValue:
    return change(work, success=success, target=PAGE)


@bp.get(PAGE)
@requires("admin")
def cooperation() -> ResponseReturnValue:
    actor = current_actor()
    assert actor.municipality_id is not None
    context: dict[str, Any] = {"membership": None}
    with _db().read() as session:
        municipality = session.get(Municipality, actor.municipality_id)
        found = services.membership(session, actor.municipality_id)
        if found is not None:
            cooperation, member = found
            view = services.describe(session, cooperation.code)
            own = list(
                session.execute(
                    select(Merchant, CooperationMerchant.merchant_id)
                    .outerjoin(CooperationMerchant, CooperationMerchant.merchant_id == Merchant.id)
                    .where(Merchant.municipality_id == actor.municipality_id)
                    .order_by(Merchant.name, Merchant.id)
                ).all()
            )
            lead = cooperation.lead_municipality_id == actor.municipality_id
            context = {
                "membership": member, "view": view, "lead": lead, "is_member": member.status == ACTIVE,
                "own": [(merchant, admitted is not None) for merchant, admitted in own],
                "invitable": services.invitable(session, actor, cooperation.code) if lead else [],
                "payout": PAYOUT_TITLES.get(cooperation.payout, cooperation.payout),
            }
    return render_template(
        "admin/cooperation.html", active="cooperation", municipality=municipality, **context,
    )


@bp.post(PAGE)
@requires("admin")
def membership() -> ResponseReturnValue:
    """Join (an invitation), leave (or decline it), or, the lead's admin, invite a municipality."""
    actor = current_actor()
    action = _form("action")
    code = actor.municipality_code or ""
    if action == "join":
        return _change(
            lambda s: services.join_cooperation(s, actor, code),
            lambda joined: notice("cooperation_joined" if joined.changed else "cooperation_already_member"),
        )
    if action == "leave":
        return _change(
            lambda s: services.leave_cooperation(s, actor, code),
            lambda left: notice("cooperation_left", name=left.name),
        )
    if action == "invite":
        def invite(session: Session) -> Notice:
            found = services.membership(session, actor.municipality_id or 0)
            if found is None:
                raise NotFound("this municipality is not in a cooperation")
            member = services.invite_member(session, found[0].code, _form("municipality"), actor=actor)
            name = session.get_one(Municipality, member.municipality_id).name
            return notice("cooperation_member_already" if member.status == ACTIVE else "cooperation_invited", name=name)

        return _change(invite, lambda message: message)
    tell(notice("cooperation_action_missing"), "error")
    return redirect(PAGE)


@bp.post(f"{PAGE}/aanbieders/<int:merchant_id>")
@requires("admin")
def merchant(merchant_id: int) -> ResponseReturnValue:
    """Admit one of the municipality's own merchants to the cooperation, or withdraw it."""
    actor = current_actor()
    action = _form("action")
    if action == "admit":
        return _change(
            lambda s: services.admit_merchant(s, actor, merchant_id),
            lambda done: notice("cooperation_merchant_admitted" if done.changed else "cooperation_merchant_already_admitted",
                                name=done.merchant.name),
        )
    if action == "withdraw":
        return _change(
            lambda s: services.withdraw_merchant(s, actor, merchant_id),
            lambda done: notice("cooperation_merchant_withdrawn" if done.changed else "cooperation_merchant_not_admitted",
                                name=done.merchant.name),
        )
    tell(notice("cooperation_merchant_action_missing"), "error")
    return redirect(PAGE)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    finance_views.init_app(app)  # /finance/samenwerking

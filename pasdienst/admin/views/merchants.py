"""Merchants: add, approve or suspend, rename, listing, IBAN changes (four eyes), till logins."""
from __future__ import annotations

from typing import Any

from flask import redirect, request
from flask.typing import ResponseReturnValue

from ...access.web import current_actor, requires
from ...errors import PasdienstError
from ...fields import FieldRefused
from ...merchants import iban as iban_changes
from ...merchants.approval import change_status
from ...merchants.logins import create_merchant_login
from ...merchants.overview import merchants_overview
from ...merchants.records import rename_merchant, set_listing
from ...merchants.models import CATEGORIES
from ...web import dutch
from ...web.security import private
from ...web.dutch import notice
from ...web.writes import change, refused, tell, write
from ...foureyes import requests
from ._common import (
    _db,
    _email_and_password,
    _form,
    _page,
    bp,
)


def _back_to(default: str) -> str:
    """Where a form asks to return to: only pages of this list, never any address."""
    wanted = _form("next")
    return wanted if wanted in ("/admin/aanbieders", "/admin/verzoeken") else default


def _merchants_page(status: int = 200, **context: Any) -> ResponseReturnValue:
    with _db().read() as session:
        rows = merchants_overview(session, current_actor())
    context.setdefault("values", {})
    context.setdefault("error", None)
    context.setdefault("listing_error", None)
    return _page("admin/merchants.html", status, rows=rows, categories=CATEGORIES,
                 active="merchants", **context)


@bp.get("/admin/aanbieders")
@requires("admin")
def merchants() -> ResponseReturnValue:
    return _merchants_page()


_MERCHANT_FIELDS = ("name", "kvk_number", "address", "iban", "bic", "contact_email")


@bp.post("/admin/aanbieders")
@requires("admin")
def merchant_add() -> ResponseReturnValue:
    actor = current_actor()
    values: dict[str, Any] = {name: _form(name) for name in _MERCHANT_FIELDS}
    values["categories"] = request.form.getlist("categories")
    try:
        name = write(lambda session: requests.add_merchant_for_approval(
            session, actor, actor.municipality_code or "", name=values["name"], categories=values["categories"],
            iban=values["iban"], bic=values["bic"] or None, kvk_number=values["kvk_number"] or None,
            address=values["address"] or None, contact_email=values["contact_email"] or None,
        )[0].name)
    except PasdienstError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _merchants_page(422, values=values, error=dutch.refusal(exc))
    tell(notice("merchant_added", name=name))
    return redirect("/admin/aanbieders")


@bp.post("/admin/aanbieders/<int:merchant_id>/status")
@requires("admin")
def merchant_status(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    status = _form("status")
    return change(
        lambda s: change_status(s, actor, merchant_id, status),
        success=lambda done: (
            notice("merchant_approval_requested", name=done[0].name) if done[1] is not None
            else notice("merchant_status_set", name=done[0].name, status=done[0].status)
        ),
        target="/admin/aanbieders",
    )


@bp.post("/admin/aanbieders/<int:merchant_id>/naam")
@requires("admin")
def merchant_rename(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: rename_merchant(s, merchant_id, _form("name"), actor=actor),
        success=lambda m: notice("merchant_renamed", name=m.name),
        target="/admin/aanbieders",
    )


@bp.post("/admin/aanbieders/<int:merchant_id>/vermelding")
@requires("admin")
def merchant_listing(merchant_id: int) -> ResponseReturnValue:
    """What families read about the merchant on the pass page and the letter."""
    actor = current_actor()
    values = {name: _form(name) for name in ("place", "offer", "website")}
    try:
        name = write(lambda session: set_listing(session, merchant_id, actor=actor, **values).name)
    except FieldRefused as exc:
        error = {"merchant_id": merchant_id, "message": dutch.refusal(exc), "typed": values}
        return _merchants_page(422, listing_error=error)
    tell(notice("merchant_listing_saved", name=name))
    return redirect("/admin/aanbieders")


@bp.post("/admin/aanbieders/<int:merchant_id>/iban")
@requires("admin")
def merchant_iban(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: iban_changes.request_change(s, actor, merchant_id, _form("iban"), _form("bic") or None),
        success=notice("iban_change_requested"),
        target="/admin/aanbieders",
    )


@bp.post("/admin/iban-wijzigingen/<int:change_id>/bevestigen")
@requires("admin")
def iban_confirm(change_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: iban_changes.confirm_change(s, actor, change_id),
        success=lambda m: notice("iban_change_confirmed", name=m.name),
        target=_back_to("/admin/aanbieders"),
    )


@bp.post("/admin/iban-wijzigingen/<int:change_id>/intrekken")
@requires("admin")
def iban_cancel(change_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: iban_changes.cancel_change(s, actor, change_id),
        success=notice("iban_change_cancelled"),
        target=_back_to("/admin/aanbieders"),
    )


@bp.post("/admin/aanbieders/<int:merchant_id>/inlog")
@private  # a one-time password: never cached, never sent on as a referrer
@requires("admin")
def merchant_login(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    try:
        email, password = write(lambda session: _email_and_password(
            create_merchant_login(session, actor, merchant_id, _form("email") or None)
        ))
    except PasdienstError as exc:
        return refused(exc, "/admin/aanbieders")
    return _page("admin/password_once.html", email=email, password=password, back="/admin/aanbieders",
                 back_title="Terug naar de aanbieders", active="merchants")

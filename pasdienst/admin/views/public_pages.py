"""Pages anyone may open: merchant sign-up and the accessibility statement."""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ...errors import PasdienstError
from ...merchants.signup import signup_merchant
from ...municipalities.models import Municipality
from ...merchants.models import CATEGORIES
from ...web import dutch
from ...web.extensions import limiter
from ...web.writes import write
from ._common import (
    _db,
    _form,
    public,
)


_SIGNUP_FIELDS = ("municipality", "name", "kvk_number", "address", "iban", "contact_email")


def _municipalities() -> list[tuple[str, str]]:
    with _db().read() as session:
        return [(m.code, m.name) for m in session.execute(select(Municipality).order_by(Municipality.name)).scalars()]


def _signup_page(status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("values", {})
    context.setdefault("error", None)
    return render_template(
        "admin/signup.html", municipalities=_municipalities(), categories=CATEGORIES, **context,
    ), status


@public.route("/merchant/signup", methods=["GET", "POST"])
@limiter.limit("5/hour", methods=["POST"], error_message="te veel aanmeldingen vanaf dit adres")
def signup() -> ResponseReturnValue:
    """A shop, club or school applies; it waits as ``pending`` until an admin approves it."""
    if request.method == "GET":
        return _signup_page(done=request.args.get("ontvangen") == "1")
    values: dict[str, Any] = {name: _form(name) for name in _SIGNUP_FIELDS}
    values["categories"] = request.form.getlist("categories")
    try:
        write(lambda session: signup_merchant(
            session, values["municipality"], name=values["name"], kvk_number=values["kvk_number"],
            address=values["address"], categories=values["categories"], iban=values["iban"],
            contact_email=values["contact_email"],
        ))
    except PasdienstError as exc:
        if exc.status in (401, 403):
            raise
        return _signup_page(422, values=values, error=dutch.refusal(exc), done=False)
    return redirect("/merchant/signup?ontvangen=1")


@public.get("/toegankelijkheid")
def accessibility() -> ResponseReturnValue:
    """The accessibility statement (toegankelijkheidsverklaring), as the Dutch government model asks."""
    return render_template("admin/accessibility.html")

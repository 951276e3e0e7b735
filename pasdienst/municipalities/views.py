"""``/admin/contact``: how families reach the municipality, set by its admin.

The phone number, e-mail address, web address and desk (address and opening
hours) that the pass page and the letters show under "Vragen of pas kwijt?".
The form posts, calls ``services.set_contact`` in one transaction and
redirects with a Dutch message; a refused field shows the form again with
what was typed and the refusal beside that field.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from ..access.web import current_actor, requires
from ..db import Database
from ..fields import FieldRefused
from ..web import dutch
from ..web.extensions import get_db
from ..web.dutch import notice
from ..web.writes import tell, write
from .models import DESK_LIMIT, HOURS_LIMIT
from .services import get_municipality, set_contact

bp = Blueprint("municipalities", __name__)

PAGE = "/admin/contact"
#: The form's fields, in the order of the page (and of ``services.set_contact``'s arguments).
FIELDS = ("phone", "email", "website", "desk", "hours")


def _db() -> Database:
    return get_db(current_app)


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    actor = current_actor()
    with _db().read() as session:
        municipality = get_municipality(session, actor.municipality_code or "")
        name, saved = municipality.name, municipality.contact
    context.setdefault("values", saved.as_dict())
    context.setdefault("error", None)
    return render_template(
        "admin/contact.html", active="contact", municipality_name=name, saved=saved,
        desk_limit=DESK_LIMIT, hours_limit=HOURS_LIMIT, **context,
    ), status


@bp.get(PAGE)
@requires("admin")
def contact() -> ResponseReturnValue:
    return _page()


@bp.post(PAGE)
@requires("admin")
def contact_save() -> ResponseReturnValue:
    actor = current_actor()
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    try:
        write(lambda session: set_contact(session, actor.municipality_code or "", actor=actor, **values))
    except FieldRefused as exc:
        return _page(422, values=values, error={"field": exc.field, "message": dutch.refusal(exc)})
    tell(notice("contact_saved"))
    return redirect(PAGE)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""Children and their passes: the list and filters, a child's page, block, reissue, register and award."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import redirect, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ...access.web import current_actor, requires
from ...config import Settings
from ...errors import PasdienstError, ValidationFailed
from ...wallet import qr
from ...wallet.errors import ShortValidity
from ...wallet.models import REISSUE_REASONS, ChildPass
from ...wallet.services import block_pass, reissue_pass
from ...web import dutch, parsing
from ...web.validators import MAX_BIG_ID
from ...web.dutch import notice
from ...web.writes import change, tell, write
from .. import awards, browse, caps, history
from ._common import (
    _db,
    _form,
    _id_and_number,
    _page,
    _settings,
    _today,
    bp,
)


#: The child list's query string: Dutch names, each mapped to what it selects.
PASS_CHOICES = (
    ("", "Alle kinderen"), ("zonder", "Zonder pas"), ("actief", "Pas actief"), ("geblokkeerd", "Pas geblokkeerd"),
    ("vervangen", "Pas vervangen"), ("verlopen", "Pas verlopen"),
)
_PASS_VALUES = {"zonder": browse.NO_PASS, "actief": "active", "geblokkeerd": "blocked", "vervangen": "replaced",
                "verlopen": "expired"}
BASIS_CHOICES = (
    ("", "Alle"), ("volledig", "Volledig (inkomen tot de grens)"), ("glijdend", "Glijdende schaal"),
    ("consulent", "Besluit consulent"),
)
_BASIS_VALUES = {"volledig": "full", "glijdend": "sliding", "consulent": "override"}
SORT_CHOICES = (("naam", "Voornaam"), ("klantnummer", "Klantnummer"), ("leeftijd", "Leeftijd"), ("aangemeld", "Aangemeld"))
_SORT_VALUES = {"naam": "name", "klantnummer": "ref", "leeftijd": "age", "aangemeld": "registered"}
#: The ages the filter takes (a child's passes end at 17; staff may look a little wider).
AGE_MAX = 99
_CHILD_ARGS = ("q", "pas", "jaar", "leeftijd_van", "leeftijd_tot", "peildatum", "inkomen", "import", "sorteer",
               "volgorde", "pagina")


def _child_filters() -> tuple[browse.ChildFilters, dict[str, str], dict[str, str]]:
    """The list's filters from the query string, what was typed (to show it again) and, per field, what is wrong.

    Choices from the page's own selects and links (pass status, year, basis,
    import, sort, direction, page) that are not one of their values are
    ignored; what a person types (ages, the reference date) is answered with
    a Dutch message rather than silently dropped.
    """
    raw = {name: (request.args.get(name) or "").strip() for name in _CHILD_ARGS}
    errors: dict[str, str] = {}

    def age(name: str) -> int | None:
        if not raw[name]:
            return None
        value = parsing.whole_number(raw[name], low=0, high=AGE_MAX)
        if value is None:
            errors[name] = dutch.told(notice("children_age_invalid", oldest=AGE_MAX))
        return value

    age_min, age_max = age("leeftijd_van"), age("leeftijd_tot")
    if age_min is not None and age_max is not None and age_min > age_max:
        errors["leeftijd_tot"] = dutch.told(notice("children_age_order"))
    age_on = parsing.day(raw["peildatum"]) if raw["peildatum"] else None
    if raw["peildatum"] and age_on is None:
        errors["peildatum"] = dutch.told(notice("children_reference_day_invalid", low=parsing.YEAR_MIN, high=parsing.YEAR_MAX))
    if len(" ".join(raw["q"].split())) > browse.MAX_QUERY:
        errors["q"] = dutch.told(notice("children_query_too_long", most=browse.MAX_QUERY))
    filters = browse.ChildFilters(
        query=raw["q"],
        pass_status=_PASS_VALUES.get(raw["pas"]),
        year=parsing.whole_number(raw["jaar"], low=parsing.YEAR_MIN, high=parsing.YEAR_MAX),
        age_min=age_min, age_max=age_max, age_on=age_on,
        basis=_BASIS_VALUES.get(raw["inkomen"]),
        import_id=parsing.whole_number(raw["import"], low=1, high=MAX_BIG_ID),
        sort=_SORT_VALUES.get(raw["sorteer"], "name"),
        descending=raw["volgorde"] == "af",
        page=parsing.whole_number(raw["pagina"], low=1, high=MAX_BIG_ID) or 1,
    )
    return filters, raw, errors


def _children_url(raw: dict[str, str], **changes: object) -> str:
    """The list's address with the current filters and ``changes`` (a new page, sort…); empty values left out."""
    values = {**raw, **{k: str(v) for k, v in changes.items()}}
    if "pagina" not in changes:
        values["pagina"] = ""  # a new filter or sort starts at the first page
    query = urlencode([(k, v) for k, v in values.items() if v and k in _CHILD_ARGS])
    return "/admin/kinderen" + (f"?{query}" if query else "")


@bp.get("/admin/kinderen")
@requires("admin", "caseworker")
def children() -> ResponseReturnValue:
    actor = current_actor()
    filters, raw, errors = _child_filters()
    listing = None
    with _db().read() as session:
        if not errors:
            try:
                listing = browse.browse_children(session, actor, filters, today=_today())
            except ValidationFailed as exc:
                errors["q"] = dutch.refusal(exc)
        imports = browse.recent_imports(session, actor, keep=filters.import_id)
        years = browse.scheme_years(session, actor)
    return _page(
        "admin/children.html", 422 if errors else 200, listing=listing, filters=filters, raw=raw, errors=errors,
        imports=imports, years=years, pass_choices=PASS_CHOICES, basis_choices=BASIS_CHOICES,
        sort_choices=SORT_CHOICES, url=lambda **changes: _children_url(raw, **changes),
        active="children",
    )


@bp.get("/admin/kinderen/<int:child_id>")
@requires("admin", "caseworker")
def child(child_id: int) -> ResponseReturnValue:
    return _child_page(child_id)


def _child_page(child_id: int, status: int = 200, **context: Any) -> ResponseReturnValue:
    actor = current_actor()
    with _db().read() as session:
        detail = history.child_history(session, actor, child_id, settings=_settings())
        held = {p.year for p in detail.passes}
        # The years a pass can still be awarded for, from this page: a scheme loaded, no pass yet.
        years = [y for y in awards.award_years(session, actor, _today()) if y.year not in held]
        year_caps = {y.year: caps.cap_status(session, actor, y.year) for y in years}
    context.setdefault("award_values", {})
    context.setdefault("award_error", None)
    return _page(
        "admin/child.html", status, c=detail, active="children",
        award_years=years, caps=year_caps, **context,
    )


@bp.post("/admin/passen/<int:pass_id>/blokkeren")
@requires("admin")
def block(pass_id: int) -> ResponseReturnValue:
    actor = current_actor()
    target = _child_target(pass_id)
    return change(
        lambda s: block_pass(s, str(pass_id), reason=_form("reason"), actor=actor),
        success=lambda p: notice("pass_blocked", number=p.pass_number),
        target=target,
    )


def _reissue_page(preview: history.ReissuePreview, status: int = 200, *, values: dict[str, str] | None = None,
                  error: str | None = None) -> ResponseReturnValue:
    return _page(
        "admin/reissue.html", status if preview.can_reissue else 409, p=preview, values=values or {}, error=error,
        reasons=REISSUE_REASONS, active="children",
    )


@bp.get("/admin/passen/<int:pass_id>/vervangen")
@requires("admin")
def reissue_form(pass_id: int) -> ResponseReturnValue:
    """The confirmation step: what a reissue does to the family's printed QR, and why it is done."""
    with _db().read() as session:
        preview = history.reissue_preview(session, current_actor(), pass_id, today=_today())
    return _reissue_page(preview)


@bp.post("/admin/passen/<int:pass_id>/vervangen")
@requires("admin")
def reissue(pass_id: int) -> ResponseReturnValue:
    actor = current_actor()
    settings = _settings()
    values = {"reason": _form("reason"), "note": _form("note")}
    with _db().read() as session:
        # Another municipality's pass is "not found" before anything else is said about the form.
        preview = history.reissue_preview(session, actor, pass_id, today=_today())
    if request.form.get("confirm") != "1":
        return _reissue_page(preview, 422, values=values, error=dutch.told(notice("reissue_not_confirmed")))
    try:
        new_id, number = write(lambda session: _id_and_number(reissue_pass(
            session, str(pass_id), settings=settings, today=_today(), actor=actor, reason=values["reason"],
            note=values["note"],
        )))
    except PasdienstError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _reissue_page(preview, exc.status, values=values, error=dutch.refusal(exc))
    # After the commit, as the command line does: a rendering problem never undoes a reissue.
    qr.render_missing(_db(), settings, pass_ids=[new_id])
    tell(notice("pass_reissued", number=number))
    return redirect(f"/admin/kinderen/{preview.child_id}")


def _child_target(pass_id: int) -> str:

    with _db().read() as session:
        row = session.execute(
            select(ChildPass.child_id, ChildPass.municipality_id).where(ChildPass.id == pass_id)
        ).first()
    if row is None or row.municipality_id != current_actor().municipality_id:
        return "/admin/kinderen"
    return f"/admin/kinderen/{row.child_id}"


_REGISTER_FIELDS = ("child_ref", "first_name", "birth_date", "household_ref", "postcode", "email", "override_reason")


def _award_form() -> tuple[int | None, bool]:
    """The year chosen on an award form (None: the default, this year) and whether a short validity was accepted."""
    raw = _form("year")
    year = parsing.whole_number(raw, low=parsing.YEAR_MIN, high=parsing.YEAR_MAX) if raw else None
    if raw and year is None:
        raise ValidationFailed("choose the year the pass is for", refusal="award_year_missing")
    return year, request.form.get("accept_short") == "1"


def _register_page(status: int = 200, **context: Any) -> ResponseReturnValue:
    actor = current_actor()
    today = _today()
    with _db().read() as session:
        years = awards.award_years(session, actor, today)
        year_caps = {y.year: caps.cap_status(session, actor, y.year) for y in years}
    context.setdefault("values", {})
    context.setdefault("error", None)
    return _page("admin/register.html", status, years=years, caps=year_caps, this_year=today.year, active="register",
                 **context)


@bp.get("/admin/kinderen/aanmelden")
@requires("admin", "caseworker")
def register_form() -> ResponseReturnValue:
    return _register_page()


@bp.post("/admin/kinderen/aanmelden")
@requires("admin", "caseworker")
def register() -> ResponseReturnValue:
    actor = current_actor()
    values = {name: _form(name) for name in _REGISTER_FIELDS}
    values["year"] = _form("year")
    settings = _settings()
    try:
        year, accept_short = _award_form()
        done = write(lambda session: awards.register_child_by_caseworker(
            session, actor, values, settings=settings, today=_today(), year=year, accept_short=accept_short,
        ))
    except PasdienstError as exc:
        if exc.status in (401, 403):
            raise
        return _register_page(exc.status, values=values, error=dutch.refusal(exc), short=isinstance(exc, ShortValidity))
    return _awarded(done, settings)


@bp.post("/admin/kinderen/<int:child_id>/toekennen")
@requires("admin", "caseworker")
def award(child_id: int) -> ResponseReturnValue:
    """A case worker's award from the child's page: the reason, the year, and the pass."""
    actor = current_actor()
    settings = _settings()
    try:
        year, accept_short = _award_form()
        done = write(lambda session: awards.award_child(
            session, actor, child_id, override_reason=_form("override_reason"), settings=settings, today=_today(),
            year=year, accept_short=accept_short,
        ))
    except PasdienstError as exc:
        if exc.status in (401, 403, 404):
            raise
        values = {"override_reason": _form("override_reason"), "year": _form("year")}
        return _child_page(child_id, exc.status, award_values=values, award_error=dutch.refusal(exc),
                           short=isinstance(exc, ShortValidity))
    return _awarded(done, settings)


def _awarded(done: awards.Registration, settings: Settings) -> ResponseReturnValue:
    # After the commit: a rendering problem never undoes the award.
    qr.render_missing(_db(), settings, pass_ids=[done.pass_id])
    made = {"number": done.pass_number, "total_cents": done.total_cents}
    if done.cap is None:
        tell(notice("pass_awarded", **made))
    elif done.cap.year == _today().year:
        tell(notice("pass_awarded_cap", left=done.cap.left, **made))
    else:
        tell(notice("pass_awarded_cap_year", left=done.cap.left, year=done.cap.year, **made))
    return redirect(f"/admin/kinderen/{done.child_id}")

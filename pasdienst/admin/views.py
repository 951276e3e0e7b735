"""``/admin``: the municipality's back office pages, ``/merchant/signup`` and ``/toegankelijkheid``.

Each view parses the form, opens one transaction, calls one service and
redirects with a Dutch flash message (POST-redirect-GET). Two deliberate
exceptions render straight from the POST: a one-time password (it must not
travel in a redirect's session cookie) and the import result (it is the
answer to the upload). A form with several fields is shown again with the
error and the values typed, so nothing has to be typed twice.
"""
from __future__ import annotations

import json
import uuid
import zlib
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.audit import audit_events
from ..access.users import ASSIGNABLE_ROLES, add_staff_user, new_one_time_password, set_user_access, users_of
from ..access.web import current_actor, requires
from ..clock import AMSTERDAM, today as clock_today
from ..config import Settings
from ..csvsafe import csv_bytes
from ..db import Database
from ..errors import NotFound, PasdienstError, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import set_budget_threshold, topup_budget
from .. import fields
from ..fields import FieldRefused
from ..merchants import iban as iban_changes
from ..merchants.approval import change_status
from ..merchants.logins import create_merchant_login
from ..merchants.overview import merchants_overview
from ..merchants.records import rename_merchant, set_listing
from ..merchants.signup import signup_merchant
from ..redeem.models import CATEGORIES
from ..web import dutch
from ..web import parsing
from ..web.validators import MAX_BIG_ID
from ..web.extensions import limiter
from ..web.security import private
from ..web.writes import change, refused, write
from ..wallet import qr
from ..wallet.models import REISSUE_REASONS
from ..wallet.children import rejected_rows
from ..wallet.services import block_pass, import_children, load_scheme, reissue_pass
from ..wallet.errors import SchemeInvalid, ShortValidity
from ..wallet.schemes import example_scheme, scheme_toml, schemes_of
from .. import labels
from ..labels import euros
from . import auditlog, awards, browse, caps, history, requests
from .dashboard import budget_overview, dashboard as dashboard_of
from .scope import staff

bp = Blueprint("admin", __name__)
#: The largest children file or scheme a page takes (the command line reads bigger children files).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Pages anyone may open (both are on the allow-list of ``pasdienst.access.web``).
public = Blueprint("admin_public", __name__)

T = TypeVar("T")

STATUS_TITLES = labels.STATUS_TITLES
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


def _db() -> Database:
    return current_app.extensions["pasdienst.db"]


def _settings() -> Settings:
    return current_app.extensions["pasdienst.settings"]


def _today():
    return clock_today(_settings().today)


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    actor = current_actor()
    return render_template(
        template, actor=actor, status_titles=STATUS_TITLES, amsterdam=AMSTERDAM, **context,
    ), status


def _id_and_number(new: Any) -> tuple[int, str]:
    return new.id, new.pass_number


def _year_and_outcome(result: Any) -> tuple[int, str]:
    return result.scheme.year, result.outcome


def _email_and_password(made: tuple[Any, str]) -> tuple[str, str]:
    user, password = made
    return user.email, password


# -- dashboard ---------------------------------------------------------------

@bp.get("/admin")
@requires("admin", "caseworker")
def dashboard() -> ResponseReturnValue:
    actor = current_actor()
    with _db().read() as session:
        board = dashboard_of(session, actor, today=_today())
        rows = auditlog.audit_rows(session, actor, board.recent_events) if board.recent_events else []
    return _page("admin/dashboard.html", board=board, rows=rows, active="dashboard")


# -- children ----------------------------------------------------------------

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
            errors[name] = f"Vul een leeftijd in van 0 tot en met {AGE_MAX} jaar, in cijfers."
        return value

    age_min, age_max = age("leeftijd_van"), age("leeftijd_tot")
    if age_min is not None and age_max is not None and age_min > age_max:
        errors["leeftijd_tot"] = "De leeftijd ‘tot en met’ is lager dan ‘van’."
    age_on = parsing.day(raw["peildatum"]) if raw["peildatum"] else None
    if raw["peildatum"] and age_on is None:
        errors["peildatum"] = f"Vul de peildatum in als JJJJ-MM-DD, tussen {parsing.YEAR_MIN} en {parsing.YEAR_MAX}."
    if len(" ".join(raw["q"].split())) > browse.MAX_QUERY:
        errors["q"] = f"Zoek op hoogstens {browse.MAX_QUERY} tekens."
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
        success=lambda p: f"Pas {p.pass_number} is geblokkeerd. De QR-code en de code werken niet meer.",
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
        return _reissue_page(preview, 422, values=values, error=(
            "Vink aan dat u begrijpt dat de oude QR-code en brief niet meer werken en dat u een nieuwe brief afdrukt."
        ))
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
    flash(f"Vervangende pas {number} gemaakt met het tegoed dat over was. De oude QR-code en brief werken niet meer: "
          "druk de nieuwe brief af en geef hem aan de ouders.", "success")
    return redirect(f"/admin/kinderen/{preview.child_id}")


def _child_target(pass_id: int) -> str:
    from ..wallet.models import ChildPass

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
    left = f" U kunt dit jaar nog {done.cap.left} keer toekennen." if done.cap is not None else ""
    if done.cap is not None and done.cap.year != _today().year:
        left = f" U kunt voor {done.cap.year} nog {done.cap.left} keer toekennen."
    flash(f"Pas {done.pass_number} is gemaakt ({euros(done.total_cents)}). Druk de brief af.{left}", "success")
    return redirect(f"/admin/kinderen/{done.child_id}")


# -- import ------------------------------------------------------------------

def _rejected_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="pasdienst.admin.rejected-rows")


@bp.get("/admin/import")
@requires("admin")
def import_form() -> ResponseReturnValue:
    return _page("admin/import.html", result=None, error=None, active="import", max_mb=MAX_UPLOAD_BYTES // (1024 * 1024))


@bp.post("/admin/import")
@requires("admin")
def import_upload() -> ResponseReturnValue:
    actor = current_actor()
    upload = request.files.get("file")
    dry_run = request.form.get("dry_run") == "1"
    max_mb = MAX_UPLOAD_BYTES // (1024 * 1024)
    if upload is None or not upload.filename:
        return _page("admin/import.html", 422, result=None, error="Kies eerst een CSV-bestand.", active="import", max_mb=max_mb)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    settings = _settings()
    try:
        if dry_run:
            with _db().read() as session:
                result = import_children(session, actor.municipality_code or "", data, settings=settings, today=_today(),
                                         dry_run=True, actor=actor, max_bytes=MAX_UPLOAD_BYTES)
        else:
            result = write(lambda session: import_children(
                session, actor.municipality_code or "", data, settings=settings, today=_today(),
                file_name=upload.filename, actor=actor, max_bytes=MAX_UPLOAD_BYTES,
            ))
    except ValidationFailed as exc:
        return _page("admin/import.html", 422, result=None, error=dutch.refusal(exc), active="import", max_mb=max_mb)
    header, rows = rejected_rows(result, reason=dutch.row_problem, reason_column="reden")
    packed = _rejected_signer().dumps(zlib.compress(json.dumps([header, rows]).encode()).hex()) if rows else None
    return _page(
        "admin/import.html", result=result, error=None, active="import", max_mb=max_mb, filename=upload.filename,
        rejected_header=header, rejected=rows[:200], rejected_count=len(rows), packed=packed,
    )


@bp.errorhandler(413)
def _too_large(_exc: Exception) -> ResponseReturnValue:
    # Flask refuses a body over MAX_CONTENT_LENGTH before any view (or login check) runs: a
    # plain page then, in Dutch, that says what to do.
    max_mb = MAX_UPLOAD_BYTES // (1024 * 1024)
    message = f"Het bestand is groter dan {max_mb} MB. Splits het in kleinere bestanden en importeer ze een voor een."
    return render_template("error.html", status=413, title="Bestand te groot", detail=message), 413


@bp.post("/admin/import/afgewezen.csv")
@requires("admin")
def rejected_download() -> ResponseReturnValue:
    try:
        header, rows = json.loads(zlib.decompress(bytes.fromhex(_rejected_signer().loads(_form("rows")))))
    except (BadSignature, ValueError, zlib.error):
        raise ValidationFailed("this download expired; import the file again", refusal="rejects_download_expired") from None
    response = Response(csv_bytes(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="kinderen.rejected.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


# -- scheme ------------------------------------------------------------------

@bp.get("/admin/regeling")
@requires("admin", "caseworker")
def scheme() -> ResponseReturnValue:
    with _db().read() as session:
        schemes = schemes_of(session, staff(current_actor()))
    return _page("admin/scheme.html", schemes=schemes, text="", error=None, problems=[], active="scheme")


@bp.post("/admin/regeling")
@requires("admin")
def scheme_load() -> ResponseReturnValue:
    actor = current_actor()
    upload = request.files.get("file")
    text = _form("text")
    error: str | None = None
    if upload is not None and upload.filename:
        try:
            text = upload.read(MAX_UPLOAD_BYTES + 1).decode("utf-8-sig")
        except UnicodeDecodeError:
            text, error = "", "Het bestand is geen UTF-8-tekst."
    if not error and not text.strip():
        error = "Kies een regelingbestand (.toml) of plak de tekst ervan."
    problems: list[str] = []
    if not error:
        try:
            year, outcome = write(lambda session: _year_and_outcome(load_scheme(session, text, actor=actor)))
        except SchemeInvalid as exc:
            error = "De regeling is niet geladen. Dit klopt niet in het bestand:"
            problems = [dutch.scheme_problem(problem) for problem in exc.found]
        except ValidationFailed as exc:
            error = dutch.refusal(exc)
        except PasdienstError as exc:
            if exc.status in (401, 403, 404):
                raise
            error = dutch.refusal(exc)
        else:
            flash({"created": f"De regeling voor {year} is geladen.", "updated": f"De regeling voor {year} is bijgewerkt.",
                   "unchanged": f"De regeling voor {year} was al zo; er is niets veranderd."}[outcome], "success")
            return redirect("/admin/regeling")
    with _db().read() as session:
        schemes = schemes_of(session, staff(actor))
    return _page("admin/scheme.html", 422, schemes=schemes, text=text, error=error, problems=problems, active="scheme")


@bp.get("/admin/regeling/<int:year>.toml")
@requires("admin", "caseworker")
def scheme_file(year: int) -> ResponseReturnValue:
    """The scheme as it is loaded, as a file to keep, edit and load again."""
    actor = current_actor()
    with _db().read() as session:
        scheme = next((s for s in schemes_of(session, staff(actor)) if s.year == year), None)
        if scheme is None:
            raise NotFound(f"there is no scheme for {year}", refusal="scheme_not_found", year=year)
        text = scheme_toml(scheme, actor.municipality_code or "")
    return _toml_download(text, f"regeling-{actor.municipality_code}-{year}.toml")


@bp.get("/admin/regeling/voorbeeld.toml")
@requires("admin", "caseworker")
def scheme_example() -> ResponseReturnValue:
    """The commented example for the first year without a scheme (from this year on)."""
    actor = current_actor()
    with _db().read() as session:
        years = {s.year for s in schemes_of(session, staff(actor))}
    year = _today().year
    while year in years:
        year += 1
    return _toml_download(example_scheme(actor.municipality_code or "", year), f"regeling-voorbeeld-{year}.toml")


def _toml_download(text: str, filename: str) -> Response:
    response = Response(text, mimetype="application/toml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- budget ------------------------------------------------------------------

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
        success=lambda cents: f"Het budget is opgehoogd met {euros(cents)}.",
        target="/admin/budget",
    )


@bp.post("/admin/budget/grens")
@requires("admin")
def budget_threshold() -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: set_budget_threshold(s, actor.municipality_code or "", fields.euros(_form("threshold"), field="threshold",
                                                                                     positive=False), actor=actor),
        success=lambda cents: f"De waarschuwingsgrens is nu {euros(cents)}." if cents else "De waarschuwing staat uit.",
        target="/admin/budget",
    )


# -- merchants ---------------------------------------------------------------

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
    flash(f"{name} is toegevoegd. Een andere beheerder moet de goedkeuring bevestigen (vier ogen); "
          "tot dan kan zij niet inloggen en wordt er niet aan haar betaald.", "success")
    return redirect("/admin/aanbieders")


@bp.post("/admin/aanbieders/<int:merchant_id>/status")
@requires("admin")
def merchant_status(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    status = _form("status")
    return change(
        lambda s: change_status(s, actor, merchant_id, status),
        success=lambda done: (
            f"De goedkeuring van {done[0].name} is aangevraagd. Een andere beheerder moet haar bevestigen (vier ogen)."
            if done[1] is not None else f"{done[0].name} is {STATUS_TITLES.get(done[0].status, done[0].status)}."
        ),
        target="/admin/aanbieders",
    )


@bp.post("/admin/aanbieders/<int:merchant_id>/naam")
@requires("admin")
def merchant_rename(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: rename_merchant(s, merchant_id, _form("name"), actor=actor),
        success=lambda m: f"De aanbieder heet nu {m.name}. Een afrekening die al is goedgekeurd houdt de oude naam.",
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
    flash(f"De vermelding van {name} op de pas is opgeslagen.", "success")
    return redirect("/admin/aanbieders")


@bp.post("/admin/aanbieders/<int:merchant_id>/iban")
@requires("admin")
def merchant_iban(merchant_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: iban_changes.request_change(s, actor, merchant_id, _form("iban"), _form("bic") or None),
        success="De IBAN-wijziging is aangevraagd. Een andere beheerder moet haar bevestigen; tot dan betalen we naar het oude IBAN.",
        target="/admin/aanbieders",
    )


@bp.post("/admin/iban-wijzigingen/<int:change_id>/bevestigen")
@requires("admin")
def iban_confirm(change_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: iban_changes.confirm_change(s, actor, change_id),
        success=lambda m: f"Het nieuwe IBAN van {m.name} geldt vanaf de volgende afrekening.",
        target=_back_to("/admin/aanbieders"),
    )


@bp.post("/admin/iban-wijzigingen/<int:change_id>/intrekken")
@requires("admin")
def iban_cancel(change_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: iban_changes.cancel_change(s, actor, change_id),
        success="De IBAN-wijziging is ingetrokken; het oude IBAN blijft.",
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


# -- users -------------------------------------------------------------------

@bp.get("/admin/gebruikers")
@requires("admin")
def users() -> ResponseReturnValue:
    with _db().read() as session:
        rows = users_of(session, current_actor())
    return _page("admin/users.html", rows=rows, roles=ASSIGNABLE_ROLES, active="users")


@bp.post("/admin/gebruikers")
@private  # a one-time password: never cached, never sent on as a referrer
@requires("admin")
def user_add() -> ResponseReturnValue:
    actor = current_actor()
    try:
        made = write(lambda session: add_staff_user(session, actor, _form("email"), _form("role")))
    except PasdienstError as exc:
        return refused(exc, "/admin/gebruikers")
    return _page("admin/password_once.html", email=made.email, password=made.password, pending=made.pending,
                 back="/admin/gebruikers", back_title="Terug naar de gebruikers", active="users")


@bp.post("/admin/gebruikers/<int:user_id>/toegang")
@requires("admin")
def user_access(user_id: int) -> ResponseReturnValue:
    actor = current_actor()
    active = _form("active") == "1"
    return change(
        lambda s: set_user_access(s, actor, user_id, active),
        success=lambda u: f"{u.email} kan weer inloggen." if u.active else f"{u.email} is geblokkeerd en is direct uitgelogd.",
        target="/admin/gebruikers",
    )


@bp.post("/admin/gebruikers/<int:user_id>/wachtwoord")
@private  # a one-time password: never cached, never sent on as a referrer
@requires("admin")
def user_password(user_id: int) -> ResponseReturnValue:
    actor = current_actor()
    try:
        made = write(lambda session: new_one_time_password(session, actor, user_id))
    except PasdienstError as exc:
        return refused(exc, "/admin/gebruikers")
    return _page("admin/password_once.html", email=made.email, password=made.password, pending=made.pending,
                 reset=True, back="/admin/gebruikers", back_title="Terug naar de gebruikers", active="users")


# -- four-eyes requests --------------------------------------------------------

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


# -- case workers ------------------------------------------------------------

def _year_arg(default: int) -> int:
    raw = (request.values.get("year") or "").strip()
    if not raw:
        return default
    year = parsing.whole_number(raw, low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    if year is None:
        # Not the default instead: a limit set "for" a mistyped year would land on this year.
        raise ValidationFailed(f"choose a year from {parsing.YEAR_MIN} to {parsing.YEAR_MAX}", refusal="year_range",
                               low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    return year


@bp.get("/admin/consulenten")
@requires("admin", "caseworker")
def caseworkers() -> ResponseReturnValue:
    actor = current_actor()
    year = _year_arg(_today().year)
    with _db().read() as session:
        cap = caps.cap_status(session, actor, year)
        given = caps.caseworker_awards(session, actor, year)
    per_person: dict[str, int] = {}
    for one in given:
        per_person[one.caseworker] = per_person.get(one.caseworker, 0) + 1
    return _page("admin/caseworkers.html", cap=cap, awards=given, per_person=sorted(per_person.items()),
                 year=year, active="caseworkers")


@bp.post("/admin/consulenten/limiet")
@requires("admin")
def caseworker_cap() -> ResponseReturnValue:
    actor = current_actor()
    year = _year_arg(_today().year)
    return change(
        lambda s: caps.set_caseworker_cap(s, actor, year, _form("max_passes")),
        success=lambda cap: f"Elke consulent mag in {cap.year} hoogstens {cap.max_passes} passen toekennen.",
        target=f"/admin/consulenten?year={year}",
    )


# -- audit log ---------------------------------------------------------------

def _day(raw: str) -> datetime | None:
    """A ``YYYY-MM-DD`` from a date field as the start of that day in Amsterdam (None if empty)."""
    if not raw:
        return None
    found = parsing.day(raw)
    if found is None:
        raise ValidationFailed(f"a date is YYYY-MM-DD, from {parsing.YEAR_MIN} to {parsing.YEAR_MAX}", refusal="date_format",
                               low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    return datetime.combine(found, time.min, AMSTERDAM)


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


# -- public: merchant signup and the accessibility statement ---------------------

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


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(public)

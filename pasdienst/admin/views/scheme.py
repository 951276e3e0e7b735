"""The scheme (regeling): load a file, download one, the example."""
from __future__ import annotations

from flask import Response, redirect, request
from flask.typing import ResponseReturnValue

from ...access.web import current_actor, requires
from ...errors import NotFound, PasdienstError, ValidationFailed
from ...wallet.errors import SchemeInvalid
from ...wallet.schemes import example_scheme, scheme_toml, schemes_of
from ...wallet.services import load_scheme
from ...web import dutch
from ...web.dutch import notice
from ...web.writes import tell, write
from ..scope import staff
from ._common import (
    MAX_UPLOAD_BYTES,
    _db,
    _form,
    _page,
    _today,
    _year_and_outcome,
    bp,
)


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
            text, error = "", dutch.told(notice("scheme_not_utf8"))
    if not error and not text.strip():
        error = dutch.told(notice("scheme_file_missing"))
    problems: list[str] = []
    if not error:
        try:
            year, outcome = write(lambda session: _year_and_outcome(load_scheme(session, text, actor=actor)))
        except SchemeInvalid as exc:
            error = dutch.told(notice("scheme_not_loaded"))
            problems = [dutch.scheme_problem(problem) for problem in exc.found]
        except ValidationFailed as exc:
            error = dutch.refusal(exc)
        except PasdienstError as exc:
            if exc.status in (401, 403, 404):
                raise
            error = dutch.refusal(exc)
        else:
            tell({"created": notice("scheme_loaded", year=year), "updated": notice("scheme_updated", year=year),
                  "unchanged": notice("scheme_unchanged", year=year)}[outcome])
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

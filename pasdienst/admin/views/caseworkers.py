"""Case workers: the year's cap on awards and who awarded what."""
from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from ...access.web import current_actor, requires
from ...errors import ValidationFailed
from ...web import parsing
from ...web.dutch import notice
from ...web.writes import change
from .. import caps
from ._common import (
    _db,
    _form,
    _page,
    _today,
    bp,
)


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
        success=lambda cap: notice("caseworker_cap_set", year=cap.year, max_passes=cap.max_passes),
        target=f"/admin/consulenten?year={year}",
    )

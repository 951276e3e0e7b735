"""``/api/v1/municipalities/<code>/usage`` and its CSV tables (admin and finance of that municipality)."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from ..access.web import requires
from ..csvsafe import csv_bytes
from ..web.api import problems
from .schemas import PublishedUsageSchema, UsageCsvQuery, UsageQuery, UsageSchema
from .usage import UsageReport, publication_table, usage_report, usage_table
from ..web.extensions import get_db

api = Blueprint("reports_api", __name__, url_prefix="/api/v1", description="Usage report")


def _report(code: str, year: int) -> UsageReport:
    with get_db(current_app).read() as session:
        return usage_report(session, code, year)


def _csv(code: str, query: dict[str, Any], header: list[str], rows: list[list[object]], *, kind: str) -> Response:
    filename = f"{kind}-{code}-{query['year']}-{query['table']}.csv"
    return Response(
        csv_bytes(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


_CSV_DOC = {
    "responses": {
        "200": {
            "description": "UTF-8 with BOM, `;`-separated, amounts in euros with a decimal comma",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@api.route("/municipalities/<code>/usage", methods=["GET"])
@requires("admin", "finance", scope="code")
@api.arguments(UsageQuery, location="query")
@api.response(200, UsageSchema)
@problems(api, {422: "validation_error"})
def usage(query: dict[str, Any], code: str) -> dict[str, Any]:
    """Eligible children, children who used their pass, by category, age band, month and merchant.

    The municipality's own figures for its own staff: every count is exact
    (0 is 0). For what is published outside the municipality, use
    ``usage/publication``, which hides small cells.
    """
    return _report(code, query["year"]).figures()


@api.route("/municipalities/<code>/usage.csv", methods=["GET"])
@requires("admin", "finance", scope="code")
@api.arguments(UsageCsvQuery, location="query")
@api.doc(**_CSV_DOC)
@problems(api, {422: "validation_error"})
def usage_csv(query: dict[str, Any], code: str) -> Response:
    """One table of the usage report as CSV for Excel (summary, by_category, by_age_band, by_month, by_merchant), exact."""
    header, rows = usage_table(_report(code, query["year"]).figures(), query["table"])
    return _csv(code, query, header, rows, kind="gebruik")


@api.route("/municipalities/<code>/usage/publication", methods=["GET"])
@requires("admin", "finance", scope="code")
@api.arguments(UsageQuery, location="query")
@api.response(200, PublishedUsageSchema)
@problems(api, {422: "validation_error"})
def usage_publication(query: dict[str, Any], code: str) -> dict[str, Any]:
    """The usage report for publication outside the municipality.

    Counts of fewer than five children are the string ``"<5"``, and so are
    counts that would give one away (a part whose total minus it is under
    five, a cell the others add up to) and the shares resting on them; ``publication.note`` says so, to publish with
    the figures.
    """
    return _report(code, query["year"]).published()


@api.route("/municipalities/<code>/usage/publication.csv", methods=["GET"])
@requires("admin", "finance", scope="code")
@api.arguments(UsageCsvQuery, location="query")
@api.doc(**_CSV_DOC)
@problems(api, {422: "validation_error"})
def usage_publication_csv(query: dict[str, Any], code: str) -> Response:
    """One table of the publication version as CSV: small cells hidden, and the note explaining it as its first line."""
    header, rows = publication_table(_report(code, query["year"]).published(), query["table"])
    return _csv(code, query, header, rows, kind="gebruik-publicatie")

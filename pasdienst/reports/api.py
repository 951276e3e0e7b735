"""``/api/v1/municipalities/<code>/usage`` and its CSV tables (admin and finance of that municipality)."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from ..access.web import requires
from ..csvsafe import csv_bytes
from ..web.api import problems
from .schemas import UsageCsvQuery, UsageQuery, UsageSchema
from .usage import usage_report, usage_table

api = Blueprint("reports_api", __name__, url_prefix="/api/v1", description="Usage report")


def _published(code: str, year: int) -> dict[str, Any]:
    from ..web.app import get_db

    with get_db(current_app).read() as session:
        return usage_report(session, code, year).published()


@api.route("/municipalities/<code>/usage", methods=["GET"])
@requires("admin", "finance", scope="code")
@api.arguments(UsageQuery, location="query")
@api.response(200, UsageSchema)
@problems(api, {422: "validation_error"})
def usage(query: dict[str, Any], code: str) -> dict[str, Any]:
    """Eligible children, children who used their pass, by category, age band, month and merchant.

    Counts of fewer than five children are the string ``"<5"``, and so are
    the shares resting on them.
    """
    return _published(code, query["year"])


@api.route("/municipalities/<code>/usage.csv", methods=["GET"])
@requires("admin", "finance", scope="code")
@api.arguments(UsageCsvQuery, location="query")
@api.doc(
    responses={
        "200": {
            "description": "UTF-8 with BOM, `;`-separated, amounts in euros with a decimal comma",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
)
@problems(api, {422: "validation_error"})
def usage_csv(query: dict[str, Any], code: str) -> Response:
    """One table of the usage report as CSV for Excel (summary, by_category, by_age_band, by_month, by_merchant)."""
    header, rows = usage_table(_published(code, query["year"]), query["table"])
    filename = f"gebruik-{code}-{query['year']}-{query['table']}.csv"
    return Response(
        csv_bytes(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

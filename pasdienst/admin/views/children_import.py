"""The children file upload, ``/admin/import``, and its rejected rows."""
from __future__ import annotations

import json
import zlib

from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer

from ...access.web import current_actor, requires
from ...csvsafe import csv_bytes
from ...errors import ValidationFailed
from ...wallet.children import rejected_rows
from ...wallet.services import import_children
from ...web import dutch
from ...web.dutch import notice
from ...web.writes import write
from ._common import (
    MAX_UPLOAD_BYTES,
    _db,
    _form,
    _page,
    _settings,
    _today,
    bp,
)


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
        return _page("admin/import.html", 422, result=None, error=dutch.told(notice("import_file_missing")), active="import", max_mb=max_mb)
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
    return render_template("error.html", status=413, title=dutch.told(notice("upload_too_large_title")),
                           detail=dutch.told(notice("upload_too_large", max_mb=max_mb))), 413


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

"""One place that maps domain errors to HTTP.

API paths answer ``application/problem+json`` (RFC 9457) with the stable
``code`` of CONTRACT.md; pages answer a Dutch HTML page. Unexpected
exceptions are not swallowed in testing, so bugs surface in the test run.
"""
from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, json, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..db import DRIVER_ERRORS, is_disk_full
from ..errors import PasdienstError
from ..labels import ERROR_PAGE_TITLES
from . import dutch
from .extensions import limiter
from .requestlog import loggable_path

#: The flask-limiter scope of the per-address limit on wrong typed codes (``redeem.api``).
TYPED_CODE_SCOPE = "typed_code"
#: A full disk does not clear in seconds; the till retries its payment with the same key.
STORAGE_FULL_RETRY_AFTER = "60"

_HTTP_CODES = {
    400: "validation_error",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
}


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def problem(status: int, code: str, detail: str, **extra: object) -> Response:
    body = {"type": f"about:blank#{code}", "title": code.replace("_", " "), "status": status, "code": code, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _field_messages(messages: object) -> dict | None:
    """webargs nests messages by location ({"json": {...}}); callers want fields."""
    if not isinstance(messages, dict):
        return None
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat or None


def _retry_after(exc: HTTPException) -> str:
    """Seconds until a refused client may try again (rate-limit headers are
    off, so a 429 names it itself): until the limit's window resets."""
    if exc.response is not None and "Retry-After" in exc.response.headers:
        return exc.response.headers["Retry-After"]
    if isinstance(exc, RateLimitExceeded):
        window = exc.limit.limit.get_expiry()
        current = limiter.current_limit
        if current is not None:
            return str(min(window, max(1, math.ceil(current.reset_at - time.time()))))
        return str(window)
    return "60"


def register(app: Flask) -> None:
    @app.errorhandler(PasdienstError)
    def _domain(exc: PasdienstError) -> Response | tuple[str, int, dict[str, str]]:
        # A limit the service counts itself (e.g. wrong typed codes) says when to retry too.
        headers = {"Retry-After": str(exc.details.get("retry_after", 60))} if exc.status == 429 else {}
        if wants_problem_json():
            public = {name: exc.details.get(name) for name in exc.public}
            response = problem(exc.status, exc.code, exc.message, errors=exc.details.get("errors"), **public)
            response.headers.update(headers)
            return response
        detail = dutch.refusal(exc)
        page = render_template("error.html", status=exc.status, title=ERROR_PAGE_TITLES.get(exc.status, "Niet gelukt"), detail=detail)
        return page, exc.status, headers

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | tuple[str, int, dict[str, str]]:
        status = exc.code or 500
        if wants_problem_json():
            if status == 400:
                # A body that is not even JSON is malformed like any other:
                # CONTRACT.md gives validation_error one status, 422.
                status = 422
            data = getattr(exc, "data", None) or {}
            errors = data.get("errors") or _field_messages(data.get("messages"))
            detail = data.get("message") or (
                "the request is not valid: see errors" if errors else exc.description or exc.name
            )
            extra: dict[str, object] = {}
            if isinstance(exc, RateLimitExceeded) and exc.limit.scope == TYPED_CODE_SCOPE:
                # The till names the limit and the wait, as for its own counts (redeem.errors.RateLimited).
                extra = {"limit": "address", "retry_after": int(_retry_after(exc))}
            response = problem(status, _HTTP_CODES.get(status, "error"), detail, errors=errors, **extra)
            # RFC 9110: a 405 names the methods that would work.
            for name, value in exc.get_headers():
                if name == "Allow":
                    response.headers[name] = value
            if status == 429:
                response.headers["Retry-After"] = _retry_after(exc)
            return response
        detail = "Te veel pogingen. Wacht een minuut en probeer het dan opnieuw." if status == 429 else exc.description
        page = render_template("error.html", status=status, title=ERROR_PAGE_TITLES.get(status, exc.name), detail=detail)
        return page, status, ({"Retry-After": _retry_after(exc)} if status == 429 else {})

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response | tuple[str, int]:
        # A cookie-authenticated call without a valid CSRF token: authenticated, not allowed.
        if wants_problem_json():
            return problem(403, "forbidden", f"CSRF check failed ({exc.description}); send the X-CSRFToken header")
        return render_template("error.html", status=400, title=dutch.told(dutch.notice("form_expired_title")),
                               detail=dutch.told(dutch.notice("form_expired"))), 400

    # A full disk is an outage, not a bug: 503 with a clear message (and an
    # ERROR line for the operator), never a 500. Anything else goes on as an
    # unhandled error.
    def _storage_full(exc: Exception) -> Response | tuple[str, int, dict[str, str]]:
        # Not the exception's text: SQLAlchemy's carries the statement's parameters.
        current_app.logger.error(
            "storage full (%s) on %s %s", type(exc).__name__, request.method, loggable_path(request.path)
        )
        headers = {"Retry-After": STORAGE_FULL_RETRY_AFTER}
        if wants_problem_json():
            response = problem(503, "storage_full", "the server's storage is full: nothing can be saved now; retry later")
            response.headers.update(headers)
            return response
        page = render_template("error.html", status=503, title=ERROR_PAGE_TITLES[503], detail=dutch.told(dutch.notice("storage_full_page")))
        return page, 503, headers

    def _maybe_storage_full(exc: Exception) -> Response | tuple[str, int, dict[str, str]]:
        if not is_disk_full(exc):
            raise exc
        return _storage_full(exc)

    # SQLAlchemy's wrapped errors, the bare drivers' (the till's lean path), the system's.
    errors: tuple[type[Exception], ...] = (DBAPIError, *DRIVER_ERRORS, OSError)
    for error in errors:
        app.register_error_handler(error, _maybe_storage_full)

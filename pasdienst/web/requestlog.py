"""Structured JSON logs, one line per request, with a request id.

The id comes from the load balancer's ``X-Request-ID`` when it sends a sane
one, else is made here; it is echoed in the response so a cashier's error
screen and the server's log line can be matched. Pass tokens are bearer
secrets: no log line carries one. Paths under ``/p/`` are logged without
them; Flask's own exception log (``Exception on /p/<token> [GET]``), the
development server's and gunicorn's lines are masked by :class:`TokenMask`;
and the JSON lines are masked once more as they are written, whatever put
a token in them (an exception's message, a traceback).
"""
from __future__ import annotations

import logging
import re
import secrets
import sys
import time

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_PASS_PATH = re.compile(r"^/p/[^/]+")
#: A holder page's path anywhere in a text, and a bare ``HANDLE.MAC`` token
#: (pasdienst.wallet.tokens); also what merely looks like one.
_PASS_PATH_IN_TEXT = re.compile(r"/p/[^/\s\"'?#<>\[\]]+")
_BARE_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Z2-7]{13}\.[A-Za-z0-9_-]{11}(?![A-Za-z0-9_-])")

logger = logging.getLogger("pasdienst.request")
#: Loggers outside ``pasdienst`` that write request paths.
_PATH_LOGGERS = ("werkzeug", "gunicorn.error", "gunicorn.access")


def mask_tokens(text: str) -> str:
    """``text`` with every pass token replaced by ``<token>``."""
    return _BARE_TOKEN.sub("<token>", _PASS_PATH_IN_TEXT.sub("/p/<token>", text))


class TokenMask(logging.Filter):
    """Masks pass tokens in the records of the logger it is added to.

    Changes the record itself (message, arguments, formatted traceback), so
    every handler and formatter that sees it, tests' ``caplog`` included,
    gets the masked text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_tokens(record.exc_text)
        return True


class _MaskingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_tokens(super().format(record))


TOKEN_MASK = TokenMask()


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the ``pasdienst`` loggers (idempotent)."""
    root = logging.getLogger("pasdienst")
    if any(getattr(h, "_pasdienst", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_MaskingJsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields={"asctime": "time", "levelname": "level"}))
    handler._pasdienst = True  # type: ignore[attr-defined]  # marks our handler so a second configure_logging adds no other
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    for name in _PATH_LOGGERS:
        logging.getLogger(name).addFilter(TOKEN_MASK)


def loggable_path(path: str) -> str:
    return _PASS_PATH.sub("/p/<token>", path)


def request_id(incoming: str) -> str:
    """The load balancer's ``X-Request-ID`` when sane, else a new one."""
    return incoming if _SANE_ID.match(incoming) else secrets.token_hex(8)


def log_request(
    request_id: str | None, method: str, path: str, status: int, started: float | None, actor: object
) -> None:
    """The request's one JSON line."""
    logger.info(
        "request",
        extra={
            "request_id": request_id,
            "method": method,
            "path": loggable_path(path),
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "user_id": getattr(actor, "user_id", None),
            "merchant_id": getattr(actor, "merchant_id", None),
        },
    )


def init_app(app: Flask) -> None:
    configure_logging()
    # Flask logs an unhandled exception as "Exception on <path> [<method>]".
    app.logger.addFilter(TOKEN_MASK)

    @app.before_request
    def _start() -> None:
        g.request_id = request_id(request.headers.get("X-Request-ID", ""))
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
        log_request(rid, request.method, request.path, response.status_code, g.get("request_started"), g.get("actor"))
        return response

"""Structured JSON logs, one line per request, with a request id.

The id comes from the load balancer's ``X-Request-ID`` when it sends a sane
one, else is made here; it is echoed in the response so a cashier's error
screen and the server's log line can be matched. Pass tokens are bearer
secrets: paths under ``/p/`` are logged without them.
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

logger = logging.getLogger("pasdienst.request")


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the ``pasdienst`` loggers (idempotent)."""
    root = logging.getLogger("pasdienst")
    if any(getattr(h, "_pasdienst", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields={"asctime": "time", "levelname": "level"}))
    handler._pasdienst = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def loggable_path(path: str) -> str:
    return _PASS_PATH.sub("/p/<token>", path)


def init_app(app: Flask) -> None:
    configure_logging()

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SANE_ID.match(incoming) else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        actor = g.get("actor")
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": loggable_path(request.path),
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                "user_id": getattr(actor, "user_id", None),
                "merchant_id": getattr(actor, "merchant_id", None),
            },
        )
        return response

"""``/api/v1/scan``, ``/api/v1/redemptions`` and void: the till's API.

Thin: parse, one service call in one transaction, map the result. A refused
scan or redemption is logged (merchant, reason, time; never the code) in a
transaction of its own, after the refused one has rolled back.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from limits import parse_many

from ..access.web import current_actor, rate_limit_key, requires
from ..clock import today as clock_today
from ..config import ConfigError
from ..errors import PasdienstError
from ..wallet.codes import looks_like_typed_code
from ..web.api import MAX_BIG_ID, problems
from ..web.extensions import limiter
from . import redemptions
from .schemas import DayOut, DayQuery, IdempotencyHeader, RedeemIn, RedemptionOut, ScanIn, ScanOut, VoidOut

api = Blueprint("redeem_api", __name__, url_prefix="/api/v1", description="Scan passes, redeem vouchers, void")

T = TypeVar("T")

#: Far above a busy till (CONTRACT.md: at least 120 per merchant per minute).
#: ``PASDIENST_TILL_RATE_LIMIT`` overrides it, e.g. for a load test.
TILL_LIMIT = "300 per minute"
#: Wrong typed codes per address, scans and redemptions together; the
#: per-merchant count lives in the database.
TYPED_CODE_LIMIT = "20 per 10 minutes"


@lru_cache(maxsize=8)
def _checked_limit(raw: str) -> str:
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"PASDIENST_TILL_RATE_LIMIT must be a rate such as '600 per minute', not {raw!r}"
        ) from None
    return raw


def till_limit() -> str:
    """Scans, redemptions and voids per merchant login or API token:
    ``PASDIENST_TILL_RATE_LIMIT`` (e.g. ``600 per minute``), else ``TILL_LIMIT``."""
    raw = os.environ.get("PASDIENST_TILL_RATE_LIMIT", "").strip()
    return _checked_limit(raw) if raw else TILL_LIMIT


# A mistyped limit stops the app at start-up, not at the first payment.
api.record_once(lambda _state: till_limit())


def _app_parts():  # noqa: ANN202
    from ..web.app import get_db, get_settings

    settings = get_settings(current_app)
    return get_db(current_app), settings, clock_today(settings.today)


def _typed_code_failed(_response: Any) -> bool:
    return bool(g.get("typed_code_failed"))


def _not_typed() -> bool:
    """A QR scan or redemption is no guess: the wrong-typed-code limit of an
    address never stops the tills behind it from taking QR codes."""
    body = request.get_json(silent=True)
    code = body.get("code") if isinstance(body, dict) else None
    return not (isinstance(code, str) and looks_like_typed_code(code))


#: Shared by scan and redemption: a guesser gains nothing by switching between them.
typed_code_limit = limiter.shared_limit(
    TYPED_CODE_LIMIT, "typed_code", key_func=get_remote_address, deduct_when=_typed_code_failed, exempt_when=_not_typed,
)


def _refused(action: str, typed: bool, work: Callable[[], T]) -> T:
    """Run ``work``; log a refusal of it before passing the error on."""
    try:
        return work()
    except PasdienstError as exc:
        if exc.status < 500 and exc.code not in ("rate_limited", "request_in_progress"):
            g.typed_code_failed = typed and exc.code == "invalid_code"
            db, _, _ = _app_parts()
            with db.transaction() as session:
                redemptions.record_refusal(
                    session, current_actor(), action=action, reason=exc.code, typed_code=g.typed_code_failed,
                    remote_addr=get_remote_address(),
                )
        raise


@api.route("/scan", methods=["POST"])
@requires("merchant")
@limiter.limit(till_limit, key_func=rate_limit_key)
@typed_code_limit
@api.arguments(ScanIn)
@api.response(200, ScanOut)
@problems(api, {
    409: "pass_blocked or pass_expired",
    422: "validation_error, or invalid_code: a QR payload or typed code that does not verify or is unknown",
    429: "rate_limited: too many scans, or too many wrong typed codes",
})
def scan(body: dict[str, Any]) -> redemptions.ScanResult:
    """What this merchant may take from a pass: first name, age, spendable vouchers."""
    db, settings, today = _app_parts()
    actor = current_actor()
    typed = looks_like_typed_code(body["code"])

    def work() -> redemptions.ScanResult:
        with db.transaction() as session:
            if typed:
                redemptions.check_typed_code_budget(session, actor)
            return redemptions.scan(session, actor, body["code"], settings=settings, today=today)

    return _refused("scan", typed, work)


@api.route("/redemptions", methods=["POST"])
@requires("merchant")
@limiter.limit(till_limit, key_func=rate_limit_key)
@typed_code_limit
@api.arguments(IdempotencyHeader, location="headers")
@api.arguments(RedeemIn)
@api.response(201, RedemptionOut)
@problems(api, {
    403: "not_accepted_here: this merchant may not take that voucher; or forbidden",
    409: "insufficient_balance, pass_blocked, pass_expired or request_in_progress",
    422: "validation_error, invalid_code, or idempotency_key_reused: the same key with a different body",
    429: "rate_limited: too many redemptions, or too many wrong typed codes",
})
def redeem(headers: dict[str, Any], body: dict[str, Any]) -> tuple[redemptions.RedemptionResult, int, dict[str, str]]:
    """Take an amount (or strips of a punch card) from a voucher. Send the same
    ``Idempotency-Key`` again to retry: it never charges twice."""
    db, settings, today = _app_parts()
    actor = current_actor()

    def work() -> redemptions.RedemptionResult:
        with db.transaction() as session:
            return redemptions.redeem(
                session,
                actor,
                code=body["code"],
                voucher_id=body["voucher_id"],
                amount_cents=body.get("amount_cents"),
                strips=body.get("strips"),
                idempotency_key=headers["idempotency_key"],
                settings=settings,
                today=today,
            )

    result = _refused("redeem", looks_like_typed_code(body["code"]), work)
    return result, 201, {"Idempotent-Replayed": "true" if result.replayed else "false"}


@api.route(f"/redemptions/<int(min=1, max={MAX_BIG_ID}):redemption_id>/void", methods=["POST"])
@requires("merchant")
@limiter.limit(till_limit, key_func=rate_limit_key)
@api.response(200, VoidOut)
@problems(api, {
    404: "not_found: no such redemption of this merchant",
    409: "void_window_closed: not of today, or already in a settlement batch",
    429: "rate_limited",
})
def void(redemption_id: int) -> dict[str, Any]:
    """Undo a redemption of today (only the merchant who took it, before settlement)."""
    db, _settings, today = _app_parts()
    actor = current_actor()

    def work() -> dict[str, Any]:
        with db.transaction() as session:
            voided = redemptions.void(session, actor, redemption_id, today=today)
            return {"id": voided.id, "receipt_no": voided.receipt_no, "voided_at": voided.voided_at}

    return _refused("void", False, work)


@api.route("/redemptions", methods=["GET"])
@requires("merchant")
@api.arguments(DayQuery, location="query")
@api.response(200, DayOut)
@problems(api, {422: "validation_error"})
def day_list(query: dict[str, Any]) -> dict[str, Any]:
    """This merchant's redemptions of one day (default today) and their total."""
    db, _settings, today = _app_parts()
    day = today if query["date"] == "today" else query["date"]
    with db.read() as session:
        lines = redemptions.day_redemptions(session, current_actor(), day=day, today=today)
    return {"date": day, "items": lines, "total_cents": sum(x.amount_cents for x in lines if not x.voided)}

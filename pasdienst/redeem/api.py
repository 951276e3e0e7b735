"""``/api/v1/scan``, ``/api/v1/redemptions`` and void: the till's API.

Thin: parse, one service call in one transaction, map the result. A refusal
goes to ``redemptions.log_refusal`` with who asked, which decides what is
logged (merchant, reason, time; never the code).
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from redis.exceptions import RedisError

from ..access.web import current_actor, rate_limit_key, requires, till_login, token_login
from ..clock import today as clock_today
from ..config import DEFAULT_TILL_RATE_LIMIT
from ..errors import PasdienstError
from ..wallet.codes import looks_like_typed_code
from ..wallet.lifecycle import voucher_now
from ..web.api import problems
from ..web.validators import CONTROL, MAX_BIG_ID, MAX_ID
from ..web.errors import TYPED_CODE_SCOPE
from ..web.extensions import csrf, get_db, get_settings, limiter
from ..web.inputguard import json_problem
from ..web.requestlog import log_request, request_id
from ..web.security import fixed_headers
from . import redemptions
from .errors import RateLimited
from .schemas import (
    MAX_AMOUNT_CENTS, DayOut, DayQuery, IdempotencyHeader, RedeemIn, RedemptionOut, ScanIn, ScanOut, VoidOut,
)

api = Blueprint("redeem_api", __name__, url_prefix="/api/v1", description="Scan passes, redeem vouchers, void")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: The till limit by default (``Settings.till_rate_limit``, ``PASDIENST_TILL_RATE_LIMIT``).
TILL_LIMIT = DEFAULT_TILL_RATE_LIMIT
#: Wrong typed codes per address, scans and redemptions together: above the
#: merchant's own ceiling (``redemptions.TYPED_CODES_PER_MERCHANT``), so a
#: shop's tills on one network meet their own limits first. The counts per
#: till login and per merchant live in the database.
TYPED_CODE_LIMIT = "40 per 10 minutes"


def _app_parts():
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
    TYPED_CODE_LIMIT, TYPED_CODE_SCOPE, key_func=get_remote_address, deduct_when=_typed_code_failed, exempt_when=_not_typed,
)


@lru_cache(maxsize=8)
def _limit_items(raw: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(raw))


class _RedisCounter:
    """The till limit's increment on a Redis connection of this thread's own.

    It runs the storage's own script (``limits``' ``incr`` of a fixed window:
    INCRBY, and EXPIRE on the first hit) on the same key, so it counts
    exactly what ``FixedWindowRateLimiter.hit`` counts, without redis-py's
    client layers around one command (a pool checkout with a health check,
    the retry wrapper, the command's parsing: about 70 us of a 90 us call).
    Anything unusual (no connection yet after an error, the script not
    loaded on the server, a connection error) goes through the strategy,
    which loads the script, retries and raises as before.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def hit(self, storage: RedisStorage, item: RateLimitItem, *identifiers: str) -> bool | None:
        """Whether the hit is within the limit; None when it was not counted here."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid() or local.storage is not storage:
            local.pid, local.storage = os.getpid(), storage
            local.conn = storage.storage.connection_pool.make_connection()
        conn = local.conn
        key = storage.prefixed_key(item.key_for(*identifiers))
        try:
            conn.send_command("EVALSHA", storage.lua_incr_expire.sha, 1, key, item.get_expiry(), 1)
            return int(conn.read_response()) <= item.amount
        except RedisError:
            conn.disconnect()
            return None


_redis_counter = _RedisCounter()


def _till_limited(limit: str, scope: str, key: str | None = None) -> None:
    """The till limit (``limit``: the settings' ``till_rate_limit``, per endpoint as ``@limiter.limit``
    counted it, per ``rate_limit_key()`` unless ``key`` is given): one
    increment in the limiter's storage (one Redis round trip); the window is
    read only for a refused request's Retry-After."""
    strategy = limiter.limiter
    storage = strategy.storage
    key = key or rate_limit_key()
    for item in _limit_items(limit):
        within = _redis_counter.hit(storage, item, "pasdienst", key, scope) if type(storage) is RedisStorage else None
        if within is None:
            within = strategy.hit(item, "pasdienst", key, scope)
        if not within:
            reset = strategy.get_window_stats(item, "pasdienst", key, scope).reset_time
            retry_after = min(item.get_expiry(), max(1, math.ceil(reset - time.time())))
            raise RateLimited(f"too many requests from this till: at most {item}", retry_after=retry_after)


@limiter.request_filter
def _nothing_for_flask_limiter() -> bool:
    """Skip flask-limiter's per-request work where it has no limit to
    count: ``till_action`` counts the till limit itself, a void has no other
    limit, and the typed-code limit of a redemption exempts QR codes."""
    endpoint = request.endpoint
    return endpoint == "redeem_api.void" or (endpoint == "redeem_api.redeem" and _not_typed())


def till_action(fast: Callable[..., Response | None] | None = None) -> Callable[[F], F]:
    """The till's endpoints: the till limit first (before the access check,
    so a flood is turned away before anything reads the database), then
    ``fast`` if it takes the request (it answers None to leave it to the
    view: a session, anything it does not vouch for), else the view with all
    its layers. Exempt from the CSRF hook: ``@requires`` checks CSRF for
    session callers itself, and a Bearer caller has no ambient credential."""

    def decorate(view: F) -> F:
        scope = f"{view.__module__}.{view.__name__}"

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            handed = request.environ.pop(LANE_KEY, None)
            if handed is not None:  # refused in the till's lane (``TillLane``)
                handed.replay()
            _till_limited(get_settings(current_app).till_rate_limit, scope)
            if fast is not None:
                answer = fast(*args, **kwargs)
                if answer is not None:
                    return answer
            return view(*args, **kwargs)

        csrf.exempt(scope)
        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the view's signature; mypy sees the inner one

    return decorate


def _log_refusal(exc: BaseException, caller: redemptions.Caller, action: str, typed: bool) -> None:
    # The address's typed-code limit (flask-limiter's ``deduct_when``) counts what the service calls a wrong code.
    g.typed_code_failed = redemptions.log_refusal(
        get_db(current_app), caller, exc, action=action, typed=typed, remote_addr=get_remote_address(),
    )


def _refused(action: str, typed: bool, work: Callable[[], T], caller: redemptions.Caller | None = None) -> T:
    """Run ``work``; a refusal of it is logged before the error passes on."""
    try:
        return work()
    except PasdienstError as exc:
        _log_refusal(exc, caller or redemptions.Caller(actor=current_actor(), till=till_login()), action, typed)
        raise


@api.route("/scan", methods=["POST"])
@till_action()
@requires("merchant")
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
                redemptions.check_typed_code_budget(session, actor, till=till_login())
            return redemptions.scan(session, actor, body["code"], settings=settings, today=today)

    return _refused("scan", typed, work)


# -- the redemption's lean path ---------------------------------------------------
#
# A Bearer request with a QR code and a well-formed body (checked here by hand, to the
# rules of RedeemIn and IdempotencyHeader, which still generate the OpenAPI
# document and judge every other request) goes straight to
# ``redemptions.redeem_now``, which resolves the token in the redemption's
# own first statement. Anything else takes the view with all its layers, so
# its answers (401 before 422, the messages of each field) stay as they were.

_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +(pd_[A-Za-z0-9_-]{43})[ \t]*$")
_CONTROL_CHARS = re.compile(rf"[{CONTROL}]")


def _lean_body(body: Any) -> tuple[str, int, int | None, int | None] | None:
    if type(body) is not dict or len(body) != 3:
        return None
    code, voucher_id = body.get("code"), body.get("voucher_id")
    if type(code) is not str or not 1 <= len(code) <= 500 or type(voucher_id) is not int or not 1 <= voucher_id <= MAX_ID:
        return None
    amount, strips = body.get("amount_cents"), body.get("strips")
    if type(amount) is int and 1 <= amount <= MAX_AMOUNT_CENTS and "strips" not in body:
        return code, voucher_id, amount, None
    if type(strips) is int and 1 <= strips <= 100 and "amount_cents" not in body:
        return code, voucher_id, None, strips
    return None


def _lean_request(header: str | None, key: str | None, body: Any) -> tuple[str, tuple[str, int, int | None, int | None]] | None:
    """The token and (code, voucher id, amount, strips) of a request the lean
    path takes: a Bearer token, a sane key, a well-formed body, a QR code."""
    matched = _BEARER.match(header) if header else None
    if matched is None or key is None or not 1 <= len(key) <= 200 or _CONTROL_CHARS.search(key):
        return None
    parsed = _lean_body(body)
    if parsed is None or looks_like_typed_code(parsed[0]):
        return None  # a typed code also answers to the typed-code limits (flask-limiter's, per address)
    return matched.group(1), parsed


def _redeem(
    db: Any, settings: Any, today: Any, caller: redemptions.Caller, key: str,
    parsed: tuple[str, int, int | None, int | None],
) -> redemptions.RedemptionResult:
    code, voucher_id, amount_cents, strips = parsed
    return redemptions.redeem_now(
        db, caller, code=code, voucher_id=voucher_id, amount_cents=amount_cents, strips=strips,
        idempotency_key=key, settings=settings, today=today,
    )


def _caller(token: str) -> redemptions.Caller:
    return redemptions.Caller(token_hash=hashlib.sha256(token.encode()).hexdigest())


def _refused_on_lean_path(exc: Exception, caller: redemptions.Caller) -> None:
    """A refusal of the lean path, as the full path handles one: the log line
    names who it was, and the refusal goes to the log with its caller."""
    if not isinstance(exc, PasdienstError):
        return
    g.actor = caller.actor
    caller.till = token_login(caller.token_hash or "")  # only now: a redemption made never needs it
    _log_refusal(exc, caller, "redeem", False)


def _redeem_lean() -> Response | None:
    header = request.headers.get("Authorization") if request.path.startswith("/api/") else None
    taken = _lean_request(header, request.headers.get("Idempotency-Key"), request.get_json(silent=True))
    if taken is None:
        return None
    token, parsed = taken
    db, settings, today = _app_parts()
    caller = _caller(token)
    try:
        result = _redeem(db, settings, today, caller, request.headers["Idempotency-Key"], parsed)
    except Exception as exc:
        _refused_on_lean_path(exc, caller)
        raise
    g.actor = caller.actor
    return _redemption_response(result)


def _redemption_body(result: redemptions.RedemptionResult) -> str:
    """``RedemptionOut`` of the result, as its schema would write it."""
    return json.dumps({
        "id": result.id,
        "receipt_no": result.receipt_no,
        "amount_cents": result.amount_cents,
        "balance_after_cents": result.balance_after_cents,
        "strips_left": result.strips_left,
        "created_at": result.created_at.isoformat(),
    })


def _redemption_response(result: redemptions.RedemptionResult) -> Response:
    response = current_app.response_class(_redemption_body(result), status=201, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true" if result.replayed else "false"
    return response


# -- the till's lane ------------------------------------------------------------------
#
# The busiest request of the service, a till's QR redemption with a Bearer
# token, answered in front of Flask (``create_app`` installs ``TillLane``
# around the WSGI app, inside the proxy fix): Flask's request cycle with its
# dozen hooks cost more CPU than the redemption's own statements
# (docs/benchmarks.md). What the hooks do for this request the lane does
# itself: the request id and the JSON log line (``web/requestlog.py``), the
# input guard's checks of the body, the security headers of every response
# (``web/security.py``) and ``Cache-Control: no-store``; the session, CSRF,
# flask-login and flask-limiter have nothing to do for it. It takes only what
# ``_redeem_lean`` would take, and answers only a redemption made or replayed;
# a refusal (or any error) is handed to Flask with the request, and the
# view raises it again where ``_redeem_lean`` would have raised it, so that
# it is logged, recorded and answered by the same code as before.

LANE_KEY = "pasdienst.till_lane"
#: A till's body is about 150 bytes; anything much larger goes through Flask.
_LANE_MAX_BODY = 4096
_REDEEM_PATH = "/api/v1/redemptions"


class _Handed:
    """A lane's request that did not end in a redemption: raised again in
    the view (``till_action``), after Flask's hooks, as on Flask's own path."""

    __slots__ = ("caller", "exc")

    def __init__(self, exc: Exception, caller: redemptions.Caller | None) -> None:
        self.exc, self.caller = exc, caller

    def replay(self) -> None:
        if self.caller is not None:
            _refused_on_lean_path(self.exc, self.caller)
        raise self.exc


def _is_json(content_type: str) -> bool:
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


class TillLane:
    """WSGI middleware: ``POST /api/v1/redemptions`` that the lean path takes,
    answered without Flask's request cycle; everything else, and every
    refusal, goes on to Flask."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._next = app.wsgi_app
        self._scope = f"{redeem.__module__}.{redeem.__name__}"  # the till limit's, as ``till_action`` counts it

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == _REDEEM_PATH and environ.get("REQUEST_METHOD") == "POST":
            answered = self._redeem(environ, start_response)
            if answered is not None:
                return answered
        return self._next(environ, start_response)

    def _redeem(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes] | None:
        started = time.perf_counter()
        header, key = environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_IDEMPOTENCY_KEY")
        length = environ.get("CONTENT_LENGTH") or ""
        if (
            not header or key is None or environ.get("QUERY_STRING") or not _is_json(environ.get("CONTENT_TYPE") or "")
            or not length.isdigit() or not 0 < int(length) <= _LANE_MAX_BODY
        ):
            return None
        data = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(data)  # Flask reads the same, should the lane not answer
        if len(data) != int(length) or json_problem(data) is not None:
            return None
        try:
            body = json.loads(data)
        except ValueError:
            return None
        taken = _lean_request(header, key, body)
        if taken is None:
            return None
        token, parsed = taken
        app = self._app
        settings = get_settings(app)
        try:
            _till_limited(settings.till_rate_limit, self._scope,
                          "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:24])
        except Exception as exc:
            environ[LANE_KEY] = _Handed(exc, None)
            return None
        caller = _caller(token)
        try:
            result = _redeem(get_db(app), settings, clock_today(settings.today), caller, key, parsed)
        except Exception as exc:
            environ[LANE_KEY] = _Handed(exc, caller)
            return None
        payload = _redemption_body(result).encode()
        secure = environ.get("wsgi.url_scheme") in ("https", "wss") or environ.get("HTTP_X_FORWARDED_PROTO", "http") == "https"
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("201 CREATED", [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Idempotent-Replayed", "true" if result.replayed else "false"),
            ("Cache-Control", "no-store"),
            *fixed_headers(app, secure),
            ("X-Request-ID", rid),
        ])
        log_request(rid, "POST", _REDEEM_PATH, 201, started, caller.actor)
        return [payload]


@api.route("/redemptions", methods=["POST"])
@till_action(_redeem_lean)
@requires("merchant")
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
    caller = redemptions.Caller(actor=current_actor(), till=till_login())

    def work() -> redemptions.RedemptionResult:
        return redemptions.redeem_now(
            db,
            caller,
            code=body["code"],
            voucher_id=body["voucher_id"],
            amount_cents=body.get("amount_cents"),
            strips=body.get("strips"),
            idempotency_key=headers["idempotency_key"],
            settings=settings,
            today=today,
        )

    result = _refused("redeem", looks_like_typed_code(body["code"]), work, caller)
    return result, 201, {"Idempotent-Replayed": "true" if result.replayed else "false"}


@api.route(f"/redemptions/<int(min=1, max={MAX_BIG_ID}):redemption_id>/void", methods=["POST"])
@till_action()
@requires("merchant")
@api.response(200, VoidOut)
@problems(api, {
    404: "not_found: no such redemption of this merchant",
    409: "void_window_closed: not of today, or already in a settlement batch",
    429: "rate_limited",
})
def void(redemption_id: int) -> dict[str, Any]:
    """Undo a redemption of today (only the merchant who took it, before settlement); says what the voucher holds now."""
    db, _settings, today = _app_parts()
    actor = current_actor()

    def work() -> dict[str, Any]:
        with db.transaction() as session:
            voided = redemptions.void(session, actor, redemption_id, today=today)
            now = voucher_now(session, voided.voucher_id)  # the receipt shows the state after the void
            return {
                "id": voided.id, "receipt_no": voided.receipt_no, "voided_at": voided.voided_at,
                "balance_after_cents": now[0] if now else None, "strips_left": now[1] if now else None,
            }

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

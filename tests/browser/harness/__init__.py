"""A test-only Flask app that serves the real scan page and decoder.

It renders ``merchant/scan.html`` and the vendored decoder from the real
static folder, under the same strict CSP the scan page gets in production,
next to :class:`FakeTill`: an in-memory stand-in for the ``/api/v1`` calls
the page makes (CONTRACT.md). So the page's own behaviour (typed codes,
amounts, the idempotent retry, void, the day's list) is tested in Chromium
without depending on the real API; the end-to-end test against the real API
uses ``live_server`` instead.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, json, render_template, request

import pasdienst.web
from pasdienst.web import assets, dutch

HERE = Path(__file__).parent
WEB = Path(pasdienst.web.__file__).parent

CSRF_TOKEN = "harness-csrf-token"
#: The logged-in user the harness's page is rendered for.
TILL_USER = 7
MERCHANT_NAME = "Sportwinkel De Bal"

#: The scan page's policy (ECOSYSTEM §A10): no inline code, wasm may compile,
#: nothing but our own origin is contacted.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'"
)

QR_PAYLOAD = "https://pas.example.nl/p/TESTTOKEN123.abcdefghijk"
TYPED_CODE = "ABCD-EFGH-JKLM"
BLOCKED_CODE = "BBBB-BBBB-BBBB"
EXPIRED_CODE = "EEEE-EEEE-EEEE"
#: The code of a pass that was reissued: the family has a new letter.
REPLACED_CODE = "RRRR-RRRR-RRRR"
REPLACED_QR = "https://pas.example.nl/p/OLDTOKEN0000.abcdefghijk"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _problem(status: int, code: str, detail: str = "", **extra: Any) -> Response:
    body = {"type": f"about:blank#{code}", "title": code, "status": status, "code": code, "detail": detail or code, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


@dataclass
class FakeTill:
    """The API of CONTRACT.md for one merchant and one pass, in memory."""

    vouchers: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {
            11: {"id": 11, "kind": "budget", "category": "sport_culture", "balance_cents": 4000, "strips_left": None, "valid_until": "2027-12-31"},
            12: {"id": 12, "kind": "punchcard", "category": "sport_culture", "balance_cents": 4500, "strips_left": 10, "valid_until": "2027-12-31", "strip_value_cents": 450, "code": "zwemmen"},
        }
    )
    #: Every call the page made: (method, path, json body, Idempotency-Key).
    calls: list[tuple[str, str, Any, str | None]] = field(default_factory=list)
    redemptions: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    #: Answers to give to the next redemption POSTs before handling them, e.g. (409, "request_in_progress"),
    #: with the problem's extension members as a third item if any.
    answer_next: list[tuple] = field(default_factory=list)
    #: POSTs still to be refused as if the page's CSRF token had gone stale.
    stale_csrf_next: int = 0
    #: While set, typed codes are refused as the server's typed-code limits do,
    #: e.g. ``{"limit": "login", "retry_after": 361}``; QR codes pass.
    typed_limit: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def redemption_calls(self) -> list[tuple[str, str, Any, str | None]]:
        return [c for c in self.calls if c[0] == "POST" and c[1] == "/api/v1/redemptions"]

    def pass_view(self) -> dict[str, Any]:
        shown = [{k: v for k, v in voucher.items() if k != "strip_value_cents"} for voucher in self.vouchers.values()]
        return {"pass_id": "kp_0123456789ab", "first_name": "Sanne", "age": 9, "vouchers": shown}

    def blueprint(self) -> Blueprint:
        api = Blueprint("fake_api", __name__, url_prefix="/api/v1")

        @api.before_request
        def _record_and_check_csrf() -> Response | None:
            with self.lock:
                self.calls.append((request.method, request.path, request.get_json(silent=True), request.headers.get("Idempotency-Key")))
                stale = request.method == "POST" and self.stale_csrf_next > 0
                self.stale_csrf_next -= stale
            if request.method == "POST" and (stale or request.headers.get("X-CSRFToken") != CSRF_TOKEN):
                # As the real app answers (pasdienst/web/errors.py).
                return _problem(403, "forbidden", "CSRF check failed (The CSRF token is missing.); send the X-CSRFToken header")
            return None

        @api.post("/scan")
        def scan() -> Response | dict[str, Any]:
            code = (request.get_json(silent=True) or {}).get("code")
            if self.typed_limit and "/" not in str(code):
                response = _problem(429, "rate_limited", **self.typed_limit)
                response.headers["Retry-After"] = str(self.typed_limit["retry_after"])
                return response
            if code == BLOCKED_CODE:
                return _problem(409, "pass_blocked", reason="blocked")
            if code in (REPLACED_CODE, REPLACED_QR):
                return _problem(409, "pass_blocked", reason="replaced")
            if code == EXPIRED_CODE:
                return _problem(409, "pass_expired")
            if code not in (QR_PAYLOAD, TYPED_CODE):
                return _problem(422, "invalid_code")
            return self.pass_view()

        @api.post("/redemptions")
        def redeem() -> Response | tuple[dict[str, Any], int]:
            key = request.headers.get("Idempotency-Key", "")
            body = request.get_json(silent=True) or {}
            if not _UUID.match(key):
                return _problem(422, "validation_error", "Idempotency-Key must be a UUID")
            with self.lock:
                if self.answer_next:
                    status, code, *extra = self.answer_next.pop(0)
                    response = _problem(status, code, **(extra[0] if extra else {}))
                    if status in (409, 429):
                        response.headers["Retry-After"] = "1"
                    return response
                if key in self.by_key:
                    stored_body, result = self.by_key[key]
                    if stored_body != body:
                        return _problem(422, "idempotency_key_reused")
                    return result, 201
                voucher = self.vouchers.get(body.get("voucher_id"))
                if voucher is None or body.get("code") not in (QR_PAYLOAD, TYPED_CODE):
                    return _problem(422, "validation_error")
                if voucher["kind"] == "punchcard":
                    strips = body.get("strips")
                    if not isinstance(strips, int) or strips < 1:
                        return _problem(422, "validation_error")
                    if strips > voucher["strips_left"]:
                        return _problem(409, "insufficient_balance")
                    voucher["strips_left"] -= strips
                    amount = strips * voucher["strip_value_cents"]
                    voucher["balance_cents"] -= amount
                else:
                    amount = body.get("amount_cents")
                    if not isinstance(amount, int) or amount <= 0:
                        return _problem(422, "validation_error")
                    if amount > voucher["balance_cents"]:
                        return _problem(409, "insufficient_balance")
                    voucher["balance_cents"] -= amount
                    strips = None
                number = len(self.redemptions) + 1
                redemption = {
                    "id": number,
                    "receipt_no": f"B-{number:05d}",
                    "created_at": "2027-03-01T13:05:00+00:00",
                    "amount_cents": amount,
                    "strips": strips,
                    "kind": voucher["kind"],
                    "category": voucher["category"],
                    "voided": False,
                    "can_void": True,
                    "voucher_id": voucher["id"],
                }
                self.redemptions.append(redemption)
                result = {
                    "id": number,
                    "receipt_no": redemption["receipt_no"],
                    "amount_cents": amount,
                    "balance_after_cents": voucher["balance_cents"],
                    "strips_left": voucher["strips_left"],
                }
                self.by_key[key] = (body, result)
                return result, 201

        @api.post("/redemptions/<int:redemption_id>/void")
        def void(redemption_id: int) -> Response | dict[str, Any]:
            with self.lock:
                found = [r for r in self.redemptions if r["id"] == redemption_id]
                if not found:
                    return _problem(404, "not_found")
                redemption = found[0]
                if redemption["voided"]:
                    return _problem(409, "void_window_closed")
                voucher = self.vouchers[redemption["voucher_id"]]
                voucher["balance_cents"] += redemption["amount_cents"]
                if redemption["strips"]:
                    voucher["strips_left"] += redemption["strips"]
                redemption.update(voided=True, can_void=False)
                return {
                    "id": redemption_id, "receipt_no": redemption["receipt_no"], "voided_at": "2027-03-01T13:06:00+00:00",
                    "balance_after_cents": voucher["balance_cents"], "strips_left": voucher["strips_left"],
                }

        @api.get("/redemptions")
        def today() -> Response | dict[str, Any]:
            if request.args.get("date") != "today":
                return _problem(422, "validation_error")
            with self.lock:
                items = [{k: v for k, v in r.items() if k != "voucher_id"} for r in reversed(self.redemptions)]
                total = sum(r["amount_cents"] for r in self.redemptions if not r["voided"])
            return {"items": items, "total_cents": total}

        return api


def _strict(response: Response, camera: bool = True) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Permissions-Policy"] = "camera=(self)" if camera else "camera=()"
    return response


def harness_blueprint(*, set_policy: bool = True) -> Blueprint:
    """``/harness/decode``: the detection module alone, camera to text.

    ``set_policy=False`` leaves the security headers to the app it is
    registered on (the real app's own CSP, for instance).
    """
    blueprint = Blueprint(
        "harness",
        __name__,
        static_folder=str(HERE / "static"),
        static_url_path="/harness/static",
        template_folder=str(HERE / "templates"),
    )

    @blueprint.get("/harness/decode")
    def decode() -> Response:
        response = Response(render_template("harness_decode.html"))
        return _strict(response) if set_policy else response

    return blueprint


def make_app(till: FakeTill | None = None) -> Flask:
    """The harness app: ``/harness/decode``, ``/merchant`` (the scan page) and, with a till, the fake API."""
    app = Flask("pasdienst_harness", static_folder=str(WEB / "static"), template_folder=str(WEB / "templates"))
    assets.init_app(app)
    app.jinja_env.globals["till_messages"] = dutch.till_messages
    app.register_blueprint(harness_blueprint())

    @app.get("/merchant")
    def merchant() -> Response:
        # ?camera=off: the camera is forbidden by policy, as when a cashier
        # refused permission; the page must fall back to the typed code.
        # ?user=N: the page as another login on the same phone renders it.
        user = request.args.get("user", str(TILL_USER))
        page = render_template(
            "merchant/scan.html", merchant_name=MERCHANT_NAME, till_user=user, csrf_token=lambda: CSRF_TOKEN
        )
        return _strict(Response(page), camera=request.args.get("camera") != "off")

    if till is not None:
        app.register_blueprint(till.blueprint())
    return app

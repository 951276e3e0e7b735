"""The till's lane (``redeem/api.py`` ``TillLane``): a QR redemption with a
Bearer token answered in front of Flask, with the answer, headers and log
line Flask's own path gives; refusals and anything else still go through
Flask."""
from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from pasdienst.redeem import api as redeem_api
from pasdienst.redeem.models import Redemption, Refusal
from pasdienst.web.app import create_app

pytestmark = pytest.mark.money


def _flask_only(app):
    """The same app with the lane taken out: Flask's own path."""
    outer = app.wsgi_app
    if isinstance(outer, redeem_api.TillLane):
        app.wsgi_app = outer._next
    else:  # behind the proxy fix
        assert isinstance(outer.app, redeem_api.TillLane)
        outer.app = outer.app._next
    return app


def _pay(client, till, key, **extra):
    body = {"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 100}
    return client.post("/api/v1/redemptions", json=body, headers={**till.headers, "Idempotency-Key": key, **extra})


@pytest.mark.parametrize("production", [False, True], ids=["http", "behind the proxy, https"])
def test_the_lane_answers_what_flasks_path_answers(db, till, production, monkeypatch, caplog):
    settings = replace(till.settings, env="production") if production else till.settings
    lane = create_app(settings, db=db).test_client()
    flask = _flask_only(create_app(settings, db=db)).test_client()
    extra = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"} if production else {}
    with caplog.at_level(logging.INFO, logger="pasdienst.request"):
        answers = [
            _pay(lane, till, "lane", **extra, **{"X-Request-ID": "lb-lane-0001"}),
            _pay(flask, till, "flask", **extra, **{"X-Request-ID": "lb-flask-001"}),
            _pay(lane, till, "flask", **extra),  # the stored answer, replayed by the lane
        ]
    assert [a.status for a in answers] == ["201 CREATED"] * 3
    names = [[name for name, _ in a.headers.items()] for a in answers]
    assert names[0] == names[1] == names[2], names
    values = [{k: v for k, v in a.headers.items() if k not in ("Content-Length", "X-Request-ID")} for a in answers]
    assert values[0] == {**values[1]} and values[2] == {**values[1], "Idempotent-Replayed": "true"}
    assert ("Strict-Transport-Security" in answers[0].headers) is production
    assert answers[0].headers["X-Request-ID"] == "lb-lane-0001"
    assert answers[2].json == answers[1].json and answers[0].json["receipt_no"] != answers[1].json["receipt_no"]
    lines = [r for r in caplog.records if r.name == "pasdienst.request"]
    fields = ("method", "path", "status", "user_id", "merchant_id")
    assert [tuple(getattr(r, f) for f in fields) for r in lines] == [("POST", "/api/v1/redemptions", 201, 1, till.merchant_id)] * 3
    assert [r.request_id for r in lines[:2]] == ["lb-lane-0001", "lb-flask-001"]
    assert all(isinstance(r.ms, float) for r in lines)


def test_the_lane_takes_the_redemption_without_flasks_view(db, till, monkeypatch):
    def not_here():
        raise AssertionError("Flask's path was taken")

    monkeypatch.setattr(redeem_api, "_redeem_lean", not_here)
    app = create_app(till.settings, db=db)
    monkeypatch.setattr(app, "full_dispatch_request", not_here)
    assert _pay(app.test_client(), till, "lane").status_code == 201


@pytest.mark.parametrize(
    "what, change, problem, logged",
    [
        ("too much", {"amount_cents": 99_999}, (409, "insufficient_balance"), 1),
        ("a typed code", {"code": "x"}, None, 0),
        ("a forged QR code", {"code_suffix": "A"}, (422, "invalid_code"), 1),
        ("no such voucher", {"voucher_id": 999_999}, (422, "validation_error"), 1),
        # marshmallow's answer, before any service: no refusal to log
        ("a body the lane does not vouch for", {"strips": 1}, (422, "validation_error"), 0),
    ],
)
def test_what_the_lane_does_not_answer_flask_answers_as_before(db, till, what, change, problem, logged):
    body = {"code": till.payload, "voucher_id": till.vouchers[("budget", "sport_culture")], "amount_cents": 100}
    if "code_suffix" in change:
        body["code"] = till.payload[:-1] + ("A" if till.payload[-1] != "A" else "B")
    else:
        body.update(change)
    if what == "a typed code":
        body["code"] = till.code
    answer = till.client.post("/api/v1/redemptions", json=body, headers={**till.headers, "Idempotency-Key": what})
    if problem is None:
        assert answer.status_code == 201, answer.json
    else:
        assert (answer.status_code, answer.json["code"]) == problem, answer.json
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Frame-Options"] == "DENY"
    with db.read() as s:
        refusals = s.execute(select(func.count()).select_from(Refusal)).scalar_one()
        made = s.execute(select(func.count()).select_from(Redemption)).scalar_one()
    assert (made, refusals) == ((1, 0) if problem is None else (0, logged)), what


def test_the_lane_counts_the_till_limit_where_flasks_path_counts_it(db, till):
    limited = replace(till.settings, till_rate_limit="2 per minute")
    lane = create_app(limited, db=db).test_client()
    flask = _flask_only(create_app(limited, db=db)).test_client()
    assert _pay(lane, till, "l-1").status_code == 201
    assert _pay(flask, till, "l-2").status_code == 201
    refused = _pay(lane, till, "l-3")
    assert (refused.status_code, refused.json["code"]) == (429, "rate_limited") and refused.headers["Retry-After"]
    assert _pay(flask, till, "l-4").status_code == 429


def test_a_body_that_is_not_json_or_too_big_goes_to_flask(db, till):
    headers = {**till.headers, "Idempotency-Key": "raw", "Content-Type": "application/json"}
    answer = till.client.post("/api/v1/redemptions", data=b'{"code": ', headers=headers)
    assert (answer.status_code, answer.json["code"]) == (422, "validation_error")
    padded = b'{"code": "%s", "voucher_id": %d, "amount_cents": 100}' % (
        till.payload.encode(), till.vouchers[("budget", "sport_culture")]
    )
    padded = padded[:-1] + b" " * 5000 + b"}"
    answer = till.client.post("/api/v1/redemptions", data=padded, headers=headers)
    assert answer.status_code == 201 and answer.json["balance_after_cents"] == 14_900

"""The per-till rate limit on scans and redemptions, and its setting."""
from __future__ import annotations

import pytest

from pasdienst.config import ConfigError
from pasdienst.redeem.api import TILL_LIMIT, till_limit
from pasdienst.web.app import create_app


def test_the_till_limit_allows_a_busy_till_by_default(monkeypatch):
    monkeypatch.delenv("PASDIENST_TILL_RATE_LIMIT", raising=False)
    assert till_limit() == TILL_LIMIT == "300 per minute"  # CONTRACT.md: at least 120 a minute


def test_pasdienst_till_rate_limit_sets_the_limit_per_token(db, till, monkeypatch):
    monkeypatch.setenv("PASDIENST_TILL_RATE_LIMIT", "2 per minute")
    app = create_app(till.settings, db=db)
    client = app.test_client()
    responses = [client.post("/api/v1/scan", json={"code": till.payload}, headers=till.headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    refused = responses[-1]
    assert refused.json["code"] == "rate_limited"
    # Says when the minute's window opens again.
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_a_mistyped_till_limit_stops_the_app_at_start_up(settings, db, monkeypatch):
    monkeypatch.setenv("PASDIENST_TILL_RATE_LIMIT", "lots per minute")
    with pytest.raises(ConfigError, match="PASDIENST_TILL_RATE_LIMIT must be a rate such as '600 per minute'"):
        create_app(settings, db=db)

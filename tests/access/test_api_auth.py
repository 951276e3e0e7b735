"""The JSON API: session plus CSRF header, or a Bearer token; tokens kept only as hashes."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from pasdienst.access.models import ApiToken
from pasdienst.access.accounts import set_user_active
from pasdienst.access.tokens import revoke_token
from pasdienst.merchants.models import Merchant

from tests.factories import api_headers, bearer, login_as, make_token, make_user

NEW_MERCHANT = {"name": "Zwembad De Golf", "categories": ["sport_culture"], "iban": "NL44RABO0123456789"}


def _merchant_names(db):
    with db.read() as s:
        return s.execute(select(Merchant.name)).scalars().all()


def test_me_tells_a_session_caller_who_it_is_and_hands_out_the_csrf_token(client, db):
    user = login_as(client, "merchant")
    me = client.get("/api/v1/me").json
    assert me["email"] == user.email and me["role"] == "merchant"
    assert me["municipality"] == "testdorp" and me["merchant_id"] == user.merchant_id
    assert me["merchant_name"].startswith("Testwinkel") and me["csrf_token"]


def test_an_anonymous_api_call_is_401_problem_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "unauthenticated"


def test_a_bearer_token_works_without_session_or_csrf(client, db):
    user = make_user(db, "admin")
    token = make_token(db, user)
    assert re.fullmatch(r"pd_[A-Za-z0-9_-]{43}", token)
    me = client.get("/api/v1/me", headers=bearer(token)).json
    assert me["email"] == user.email and me["csrf_token"] is None
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=NEW_MERCHANT, headers=bearer(token))
    assert response.status_code == 202, response.json
    assert response.json["merchant"]["bic"] == "RABONL2U"


def test_a_token_is_stored_only_as_its_sha256(db):
    user = make_user(db, "finance")
    token = make_token(db, user, "boekhouding")
    with db.read() as s:
        row = s.execute(select(ApiToken)).scalar_one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.name == "boekhouding"
        stored = [str(v) for v in (row.token_hash, row.name)]
    assert all(token not in value for value in stored)


def test_a_token_records_when_it_was_last_used(client, db):
    user = make_user(db, "finance")
    token = make_token(db, user)
    client.get("/api/v1/me", headers=bearer(token))
    with db.read() as s:
        assert s.execute(select(ApiToken.last_used_at)).scalar() is not None


@pytest.mark.parametrize("header", [
    "Bearer pd_" + "A" * 43,                # well-formed, unknown
    "Bearer not-a-token",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "pd_" + "A" * 43,
])
def test_unknown_or_malformed_credentials_are_401(client, db, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.json["code"] == "unauthenticated"


def test_a_revoked_token_stops_working_at_once(client, db):
    user = make_user(db, "admin")
    token = make_token(db, user)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with db.transaction() as s:
        token_id = s.execute(select(ApiToken.id)).scalar_one()
        revoke_token(s, token_id)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_a_bad_token_is_refused_even_with_a_valid_session(client, db):
    login_as(client, "admin")
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer pd_" + "B" * 43})
    assert response.status_code == 401


def test_a_blocked_user_loses_session_and_tokens(client, db):
    user = login_as(client, "admin")
    token = make_token(db, user)
    with db.transaction() as s:
        set_user_active(s, user.email, False)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_a_session_api_post_without_csrf_header_is_refused_and_writes_nothing(client, db):
    login_as(client, "admin")
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=NEW_MERCHANT)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json" and response.json["code"] == "forbidden"
    assert "CSRF" in response.json["detail"]
    bad = client.post(
        "/api/v1/municipalities/testdorp/merchants", json=NEW_MERCHANT, headers={"X-CSRFToken": "forged"}
    )
    assert bad.status_code == 403
    assert NEW_MERCHANT["name"] not in _merchant_names(db)


def test_a_session_api_post_with_the_csrf_header_goes_through(client, db):
    login_as(client, "admin")
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=NEW_MERCHANT, headers=api_headers(client))
    assert response.status_code == 202
    assert NEW_MERCHANT["name"] in _merchant_names(db)


def test_the_csrf_token_from_me_is_accepted(client, db):
    login_as(client, "admin")
    token = client.get("/api/v1/me").json["csrf_token"]
    response = client.post(
        "/api/v1/municipalities/testdorp/merchants", json=NEW_MERCHANT, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 202


def test_a_role_that_may_not_gets_403_and_nothing_is_written(client, db):
    login_as(client, "finance")
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=NEW_MERCHANT, headers=api_headers(client))
    assert response.status_code == 403 and response.json["code"] == "forbidden"
    assert NEW_MERCHANT["name"] not in _merchant_names(db)


def test_an_admin_cannot_act_for_another_municipality(client, db):
    make_user(db, "admin", municipality="anderdorp")
    login_as(client, "admin")  # of testdorp
    response = client.post("/api/v1/municipalities/anderdorp/merchants", json=NEW_MERCHANT, headers=api_headers(client))
    assert response.status_code == 403
    assert client.get("/api/v1/municipalities/anderdorp/audit-events").status_code == 403
    assert NEW_MERCHANT["name"] not in _merchant_names(db)

"""Every endpoint against every role: access control is data, and this walks all of it.

The endpoints come from ``app.url_map`` at run time, so views added later by
anyone are covered without touching this file. A view must be on the public
allow-list (``pasdienst.access.web.PUBLIC_RULES``) or behind ``@requires``.
For the rest, with dummy URL values and an empty body:

* anonymous: 401 on ``/api/``, a redirect to ``/login`` on pages;
* a role the view does not allow: 403;
* a role it allows: anything but 401/403 (404 or 422 for the dummy values is fine);
* where ``scope`` names a municipality parameter: the same role from another
  municipality gets 403.

API views are tried with the session cookie (plus CSRF header) and with a
Bearer token. Finer scope (this merchant's redemption) is for each
endpoint's own tests.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.routing import FloatConverter, IntegerConverter, Rule, UUIDConverter

from pasdienst.access.models import ROLES
from pasdienst.access.web import access_rule, is_public_rule

from tests.factories import (
    OTHER_MUNICIPALITY,
    TEST_MUNICIPALITY,
    MadeUser,
    api_headers,
    login_as,
    make_token,
    make_user,
    page_csrf_token,
)

_IGNORED_METHODS = {"HEAD", "OPTIONS"}
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Endpoint:
    rule: Rule
    method: str
    roles: frozenset[str]
    scope: str | None

    @property
    def api(self) -> bool:
        return self.rule.rule.startswith("/api/")

    def url(self, municipality: str) -> str:
        values: dict[str, object] = {}
        for name, converter in self.rule._converters.items():
            if name == self.scope:
                values[name] = municipality
            elif isinstance(converter, IntegerConverter):
                values[name] = 987654
            elif isinstance(converter, UUIDConverter):
                values[name] = uuid.UUID(int=7)
            elif isinstance(converter, FloatConverter):
                values[name] = 1.5
            else:
                values[name] = "onbekend"
        built = self.rule.build(values, append_unknown=False)
        assert built is not None, f"cannot build {self.rule.rule} from {values}"
        path = built[1]
        return path

    def __str__(self) -> str:
        return f"{self.method} {self.rule.rule}"


def _guarded(app: Flask) -> tuple[list[Endpoint], list[str]]:
    guarded, unguarded = [], []
    for rule in app.url_map.iter_rules():
        if is_public_rule(rule.rule, rule.endpoint):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            found = access_rule(view, method)
            if found is None:
                unguarded.append(f"{method} {rule.rule} ({rule.endpoint})")
            else:
                guarded.append(Endpoint(rule, method, found[0], found[1]))
    return guarded, unguarded


def test_every_endpoint_is_public_or_behind_requires(app):
    _, unguarded = _guarded(app)
    assert unguarded == [], (
        "these views neither are on the public allow-list (pasdienst/access/web.py) "
        "nor use @requires(...):\n  " + "\n  ".join(unguarded)
    )


def test_the_matrix_has_endpoints_to_walk(app):
    guarded, _ = _guarded(app)
    rules = {str(e) for e in guarded}
    assert {"GET /api/v1/me", "POST /logout", "POST /api/v1/municipalities/<code>/merchants"} <= rules
    # Some endpoint refuses some role: otherwise the matrix would prove nothing about refusals.
    assert any(e.roles != frozenset(ROLES) for e in guarded)


class Caller:
    """One role, logged in afresh for every request (a request may log out or change state)."""

    def __init__(self, app: Flask, user: MadeUser | None, token: str | None = None) -> None:
        self.app, self.user, self.token = app, user, token

    def call(self, endpoint: Endpoint, *, bearer: bool = False) -> tuple[int, str]:
        client = self.app.test_client()
        headers: dict[str, str] = {}
        if bearer:
            assert self.token is not None
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.user is not None:
            login_as(client, self.user)
            headers.update(api_headers(client))
        elif endpoint.method in _UNSAFE and not endpoint.api:
            # An anonymous form post with a valid CSRF token must still be refused by the role check.
            headers["X-CSRFToken"] = page_csrf_token(client)
        # Always the home municipality: a caller "@other" works elsewhere.
        municipality = TEST_MUNICIPALITY
        kwargs: dict[str, object] = {"headers": headers}
        if endpoint.method in _UNSAFE:
            kwargs["json" if endpoint.api else "data"] = {}
        response = client.open(endpoint.url(municipality), method=endpoint.method, **kwargs)
        return response.status_code, response.headers.get("Location", "")


@pytest.fixture
def callers(app, db) -> dict[str, Caller]:
    made = {}
    for role in ROLES:
        home = make_user(db, role)
        other = make_user(db, role, municipality=OTHER_MUNICIPALITY)
        made[role] = Caller(app, home, make_token(db, home))
        made[f"{role}@other"] = Caller(app, other, make_token(db, other))
    made["anonymous"] = Caller(app, None)
    return made


def _expectation(endpoint: Endpoint, who: str) -> str:
    role, _, where = who.partition("@")
    if role == "anonymous":
        return "unauthenticated"
    if role not in endpoint.roles:
        return "forbidden"
    if where == "other" and endpoint.scope is not None:
        return "forbidden"
    return "allowed"


def _check(endpoint: Endpoint, who: str, status: int, location: str, expected: str) -> str | None:
    if expected == "unauthenticated":
        if endpoint.api and status == 401:
            return None
        if not endpoint.api and status in (301, 302, 303) and location.startswith("/login"):
            return None
        return f"{endpoint}: {who} got {status} {location}, expected {'401' if endpoint.api else 'a redirect to /login'}"
    if expected == "forbidden":
        return None if status == 403 else f"{endpoint}: {who} got {status}, expected 403"
    # (A plain redirect to /login is fine: logging out does that. Being sent
    # to log in, with ?next=, is not.)
    if status in (401, 403) or (status in (301, 302, 303) and location.startswith("/login?next=")):
        return f"{endpoint}: {who} is allowed ({sorted(endpoint.roles)}) but got {status} {location}"
    return None


@pytest.mark.parametrize("who", ["anonymous", *ROLES, *(f"{r}@other" for r in ROLES)])
def test_every_role_against_every_endpoint(app, callers, who):
    guarded, _ = _guarded(app)
    failures = []
    for endpoint in guarded:
        expected = _expectation(endpoint, who)
        if who.endswith("@other") and endpoint.scope is None:
            continue  # without a municipality in the URL the service checks scope
        status, location = callers[who].call(endpoint)
        failure = _check(endpoint, who, status, location, expected)
        if failure:
            failures.append(failure)
        if endpoint.api and who != "anonymous":
            status, location = callers[who].call(endpoint, bearer=True)
            failure = _check(endpoint, f"{who} (Bearer)", status, location, expected)
            if failure:
                failures.append(failure)
    assert failures == [], "\n".join(failures)


def test_a_bad_bearer_token_is_refused_everywhere_in_the_api(app):
    guarded, _ = _guarded(app)
    client = app.test_client()
    failures = []
    for endpoint in (e for e in guarded if e.api):
        kwargs: dict[str, object] = {"headers": {"Authorization": "Bearer pd_" + "x" * 43}}
        if endpoint.method in _UNSAFE:
            kwargs["json"] = {}
        status = client.open(endpoint.url(TEST_MUNICIPALITY), method=endpoint.method, **kwargs).status_code
        if status != 401:
            failures.append(f"{endpoint}: a made-up token got {status}")
    assert failures == []

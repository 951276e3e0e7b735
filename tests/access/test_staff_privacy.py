"""What staff pages leave behind: nothing in the browser's cache, and no payee for caseworkers.

Both walk ``app.url_map`` (as the role matrix does), so pages added later
are covered without touching this file.
"""
from __future__ import annotations

import pytest

from tests.factories import TEST_IBANS, TEST_MUNICIPALITY, api_headers, login_as, make_merchant, make_user
from tests.access.test_role_matrix import _guarded

STAFF_PREFIXES = ("/admin", "/finance", "/merchant", "/account", "/api/")


def _gets(app, role: str | None = None):
    guarded, _ = _guarded(app)
    return [e for e in guarded if e.method == "GET" and (role is None or role in e.roles)]


def test_every_staff_page_and_api_answer_is_no_store(app, db):
    users = {}
    endpoints = [e for e in _gets(app) if e.rule.rule.startswith(STAFF_PREFIXES)]
    assert {"/admin", "/finance", "/merchant", "/account/wachtwoord"} <= {e.rule.rule for e in endpoints}
    for endpoint in endpoints:
        role = sorted(endpoint.roles)[0]
        users.setdefault(role, make_user(db, role))
        client = app.test_client()
        login_as(client, users[role])
        response = client.get(endpoint.url(TEST_MUNICIPALITY), headers=api_headers(client))
        assert response.headers.get("Cache-Control") == "no-store", f"{endpoint} ({response.status_code})"
    # Also what an anonymous visitor is sent away with, and the login page itself.
    anonymous = app.test_client()
    for path in ("/admin", "/login", "/merchant"):
        assert anonymous.get(path).headers["Cache-Control"] == "no-store", path


def test_static_files_keep_their_own_caching(app, client):
    from pasdienst.web.assets import asset_version

    with app.app_context():
        version = asset_version("merchant/scan.js")
    response = client.get(f"/static/merchant/scan.js?v={version}")
    assert response.status_code == 200 and "no-store" not in response.headers["Cache-Control"]


def test_caseworkers_see_no_merchant_iban_on_any_page_or_api_they_may_use(app, db):
    iban = TEST_IBANS[0]
    make_merchant(db, name="Sportclub De Sprint", categories=("sport_culture",))
    client = app.test_client()
    login_as(client, "caseworker")
    endpoints = _gets(app, "caseworker")
    assert "/api/v1/municipalities/<code>/merchants" in {e.rule.rule for e in endpoints}
    for endpoint in endpoints:
        response = client.get(endpoint.url(TEST_MUNICIPALITY), headers=api_headers(client))
        body = response.get_data(as_text=True)
        assert iban not in body and iban[4:] not in body, endpoint

    (listed,) = client.get(f"/api/v1/municipalities/{TEST_MUNICIPALITY}/merchants").json
    assert listed["name"] == "Sportclub De Sprint" and listed["iban"] is None and listed["bic"] is None


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_admin_and_finance_still_see_the_payee(client, db, role):
    make_merchant(db, name="Sportclub De Sprint", categories=("sport_culture",))
    login_as(client, role)
    (listed,) = client.get(f"/api/v1/municipalities/{TEST_MUNICIPALITY}/merchants").json
    assert listed["iban"] == TEST_IBANS[0] and listed["bic"]

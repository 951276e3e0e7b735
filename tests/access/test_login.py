"""The login page, sessions, the forced password change, CSRF on forms and rate limits."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from pasdienst.access.models import User
from pasdienst.web.extensions import limiter

from tests.factories import TEST_PASSWORD, login_as, make_user, page_csrf_token


def _login(client, email, password=TEST_PASSWORD, *, next_url=None, csrf=True):
    data = {"email": email, "password": password}
    if csrf:
        data["csrf_token"] = page_csrf_token(client)
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


def test_the_login_page_is_dutch_and_carries_a_csrf_token(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Inloggen" in page and "E-mailadres" in page and "Wachtwoord" in page
    assert re.search(r'name="csrf_token" value="[^"]+"', page)


@pytest.mark.parametrize("role, home", [
    ("merchant", "/merchant"), ("finance", "/finance"), ("admin", "/admin"), ("caseworker", "/admin"),
])
def test_a_login_lands_on_the_page_of_the_role(client, db, role, home):
    user = make_user(db, role)
    response = _login(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == home
    assert client.get("/api/v1/me").json["email"] == user.email


def test_the_session_cookie_is_httponly_and_samesite_lax(client, db):
    user = make_user(db, "admin")
    cookie = _login(client, user.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development runs on plain http


def test_production_session_cookies_are_secure(db, settings):
    from pasdienst.web.app import create_app

    app = create_app(replace(settings, env="production"), db=db)
    user = make_user(db, "admin")
    client = app.test_client()
    cookie = _login(client, user.email).headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_a_wrong_password_shows_a_dutch_message_and_logs_nobody_in(client, db):
    user = make_user(db, "admin")
    response = _login(client, user.email, "not my password at all")
    assert response.status_code == 200
    assert "horen niet bij elkaar" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401
    with db.read() as s:
        assert s.execute(select(User.last_login_at).where(User.id == user.id)).scalar() is None


def test_a_login_form_without_csrf_token_is_refused(client, db):
    user = make_user(db, "admin")
    response = _login(client, user.email, csrf=False)
    assert response.status_code == 400
    assert "Formulier verlopen" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401


def test_after_login_the_user_returns_to_the_page_asked_for(client, db):
    user = make_user(db, "finance")
    assert _login(client, user.email, next_url="/finance/batches?x=1").headers["Location"] == "/finance/batches?x=1"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_a_next_address_elsewhere_is_ignored(client, db, target):
    user = make_user(db, "finance")
    assert _login(client, user.email, next_url=target).headers["Location"] == "/finance"


def test_an_anonymous_page_visit_is_sent_to_the_login_with_the_way_back(client):
    response = client.get("/account/wachtwoord")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount%2Fwachtwoord"


def test_a_one_time_password_must_be_changed_before_anything_else(client, db):
    user = make_user(db, "admin", must_change_password=True)
    response = _login(client, user.email, next_url="/admin/auditlog")
    assert response.headers["Location"] == "/account/wachtwoord?next=%2Fadmin%2Fauditlog"
    assert client.get("/admin/auditlog").headers["Location"].startswith("/account/wachtwoord")
    assert client.get("/api/v1/municipalities/testdorp/merchants").status_code == 403
    assert client.get("/api/v1/me").json["must_change_password"] is True
    form = client.get("/account/wachtwoord").get_data(as_text=True)
    assert "eenmalig wachtwoord" in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/account/wachtwoord", data={
        "csrf_token": token, "current_password": TEST_PASSWORD, "new_password": "een nieuw wachtwoord",
        "repeat_password": "een nieuw wachtwoord", "next": "/admin/auditlog",
    })
    assert response.status_code == 302 and response.headers["Location"] == "/admin/auditlog"
    assert client.get("/admin/auditlog").status_code == 200


def test_a_password_change_with_a_typo_in_the_repeat_changes_nothing(client, db):
    user = login_as(client, "admin")
    form = client.get("/account/wachtwoord").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/account/wachtwoord", data={
        "csrf_token": token, "current_password": TEST_PASSWORD, "new_password": "een nieuw wachtwoord",
        "repeat_password": "een nieuw wachtwoorD",
    })
    assert response.status_code == 422 and "niet gelijk" in response.get_data(as_text=True)
    with db.read() as s:
        assert s.get(User, user.id).password_hash.startswith("$argon2id$")
    assert client.get("/api/v1/me").status_code == 200  # still logged in with the old password


def test_a_new_password_ends_the_other_sessions(app, db):
    user = make_user(db, "finance")
    phone, laptop = app.test_client(), app.test_client()
    login_as(phone, user)
    login_as(laptop, user)
    form = laptop.get("/account/wachtwoord").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    laptop.post("/account/wachtwoord", data={
        "csrf_token": token, "current_password": TEST_PASSWORD, "new_password": "een nieuw wachtwoord",
        "repeat_password": "een nieuw wachtwoord",
    })
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401


def _copy_cookie(source, target) -> None:
    target.set_cookie("pasdienst_session", source.get_cookie("pasdienst_session").value)


def _logout(client) -> None:
    page = client.get("/account/wachtwoord").get_data(as_text=True)
    token = re.search(r'action="/logout".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_a_copied_session_cookie_stops_working_at_logout(app, db):
    user = make_user(db, "merchant")
    till, thief, other_till = app.test_client(), app.test_client(), app.test_client()
    assert _login(till, user.email).status_code == 302
    assert _login(other_till, user.email).status_code == 302
    _copy_cookie(till, thief)
    assert thief.get("/api/v1/me").json["email"] == user.email

    _logout(till)
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.get("/merchant").status_code == 302  # to the login page
    # Only that login ended: the same account on another till goes on.
    assert other_till.get("/api/v1/me").status_code == 200


def test_a_copied_session_cookie_stops_working_after_a_password_change(app, db):
    user = make_user(db, "finance")
    laptop, thief, phone = app.test_client(), app.test_client(), app.test_client()
    assert _login(laptop, user.email).status_code == 302
    assert _login(phone, user.email).status_code == 302
    _copy_cookie(laptop, thief)
    form = laptop.get("/account/wachtwoord").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    laptop.post("/account/wachtwoord", data={
        "csrf_token": token, "current_password": TEST_PASSWORD, "new_password": "een nieuw wachtwoord",
        "repeat_password": "een nieuw wachtwoord",
    })
    assert laptop.get("/api/v1/me").status_code == 200  # a new session for whoever changed it
    assert thief.get("/api/v1/me").status_code == 401
    assert phone.get("/api/v1/me").status_code == 401


def test_blocking_an_account_ends_its_sessions_for_good(app, db):
    from pasdienst.access.accounts import set_user_active

    user = make_user(db, "caseworker")
    client = app.test_client()
    assert _login(client, user.email).status_code == 302
    with db.transaction() as s:
        set_user_active(s, user.email, False)
    with db.transaction() as s:
        set_user_active(s, user.email, True)
    assert client.get("/api/v1/me").status_code == 401  # unblocking does not revive it


def test_a_session_cookie_from_before_server_side_sessions_is_logged_out(app, db):
    user = make_user(db, "admin")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.version}"  # the old form: no login key
    assert client.get("/api/v1/me").status_code == 401


def test_logout_needs_the_form_token_and_then_ends_the_session(client, db):
    login_as(client, "merchant")
    assert client.post("/logout").status_code == 400  # no CSRF token: a forged logout
    assert client.get("/api/v1/me").status_code == 200
    page = client.get("/account/wachtwoord").get_data(as_text=True)
    token = re.search(r'action="/logout".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401


def test_logout_tells_the_browser_to_drop_what_the_pages_stored(client, db):
    # The till keeps an unresolved payment (with its pass code) in localStorage.
    login_as(client, "merchant")
    page = client.get("/account/wachtwoord").get_data(as_text=True)
    token = re.search(r'action="/logout".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Clear-Site-Data"] == '"storage"'


def test_repeated_failed_logins_for_one_address_are_rate_limited(client, db):
    user = make_user(db, "admin")
    for _ in range(5):
        assert _login(client, user.email, "not my password at all").status_code == 200
    response = _login(client, user.email)  # even the right password, for now
    assert response.status_code == 429
    assert "Te veel pogingen" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers
    assert client.get("/api/v1/me").status_code == 401


def test_successful_logins_do_not_use_up_the_address_limit(app, db):
    user = make_user(db, "merchant")
    for _ in range(6):
        assert _login(app.test_client(), user.email).status_code == 302


def test_one_address_cannot_try_more_than_ten_logins_a_minute(client, db):
    user = make_user(db, "admin")
    token = page_csrf_token(client)
    # Ten different (malformed, so quickly refused) names from one address...
    for i in range(10):
        assert client.post("/login", data={"email": f"x{i}", "password": "x", "csrf_token": token}).status_code == 200
    # ...and the eleventh attempt is refused, whoever it is for.
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 429


def test_a_rate_limited_api_call_answers_problem_json(app):
    @app.get("/api/v1/test-rate-limited")
    @limiter.limit("1/minute")
    def limited() -> dict[str, str]:
        return {"ok": "yes"}

    client = app.test_client()
    assert client.get("/api/v1/test-rate-limited").status_code == 200
    response = client.get("/api/v1/test-rate-limited")
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "rate_limited"

import pytest

from pasdienst.config import ConfigError


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


def test_the_start_page_is_dutch(client):
    page = client.get("/").get_data(as_text=True)
    assert 'lang="nl"' in page and "Kindpakket" in page


def test_unknown_api_paths_answer_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "not_found"


def test_the_app_will_not_start_in_production_without_a_key(monkeypatch, tmp_path):
    from pasdienst.web.app import create_app

    monkeypatch.setenv("PASDIENST_ENV", "production")
    monkeypatch.delenv("PASDIENST_SECRET_KEY", raising=False)
    monkeypatch.setenv("PASDIENST_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="PASDIENST_SECRET_KEY"):
        create_app()


def test_every_response_carries_the_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "camera=(self)" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # development: plain http


def test_production_adds_hsts_and_secure_cookies(db, settings):
    from dataclasses import replace

    from pasdienst.web.app import create_app

    app = create_app(replace(settings, env="production"), db=db)
    # behind the load balancer requests arrive as https
    response = app.test_client().get("/", base_url="https://pas.example.nl")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_the_openapi_document_is_served(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "pasdienst"


def test_a_private_page_is_no_store_no_referrer_noindex_whenever_its_hooks_were_registered(app):
    """The policy is one hook: a blueprint or a view marked private gets the private headers over the
    fixed ones, however late it was registered, and a view's own Cache-Control still counts elsewhere."""
    from flask import Blueprint

    from pasdienst.web.security import private

    late = private(Blueprint("late_private", __name__))
    late.add_url_rule("/probe/geheim", "secret", lambda: "geheim")
    app.register_blueprint(late)

    @app.after_request
    def _registered_last(response):  # a hook that runs before the policy's
        response.headers["Referrer-Policy"] = "unsafe-url"
        return response

    app.add_url_rule("/probe/wachtwoord", "password_once", private(lambda: "eenmalig"))
    app.add_url_rule("/probe/kaart", "cached", lambda: ("kaart", 200, {"Cache-Control": "max-age=60"}))
    client = app.test_client()
    for path in ("/probe/geheim", "/probe/wachtwoord"):
        headers = client.get(path).headers
        assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Robots-Tag"] == "noindex, nofollow"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    plain = client.get("/probe/kaart").headers
    assert plain["Cache-Control"] == "max-age=60" and plain["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "X-Robots-Tag" not in plain


def test_a_page_asked_the_wrong_way_says_so_in_dutch(client):
    response = client.get("/logout", headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 405
    assert "Niet toegestaan" in page and "Method Not Allowed" not in page

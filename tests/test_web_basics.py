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

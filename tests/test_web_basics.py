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

from datetime import date

import pytest

from pasdienst.config import ConfigError, load_settings


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="PASDIENST_SECRET_KEY is required"):
        load_settings({"PASDIENST_ENV": "production", "PASDIENST_INSTANCE_PATH": str(tmp_path)})


def test_development_generates_and_keeps_a_key(tmp_path):
    env = {"PASDIENST_INSTANCE_PATH": str(tmp_path)}
    first = load_settings(env).secret_key
    assert len(first) >= 32 and load_settings(env).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_several_keys_rotate_with_the_last_one_signing(tmp_path):
    settings = load_settings({"PASDIENST_SECRET_KEY": "old-key-0123456789,new-key-0123456789", "PASDIENST_INSTANCE_PATH": str(tmp_path)})
    assert settings.secret_key == "new-key-0123456789"
    assert settings.secret_keys == ("old-key-0123456789", "new-key-0123456789")


def test_short_keys_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 16"):
        load_settings({"PASDIENST_SECRET_KEY": "short", "PASDIENST_INSTANCE_PATH": str(tmp_path)})


def test_pasdienst_today_sets_the_date_but_not_in_production(tmp_path):
    env = {"PASDIENST_TODAY": "2027-03-01", "PASDIENST_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(env).today == date(2027, 3, 1)
    with pytest.raises(ConfigError, match="refused"):
        load_settings({**env, "PASDIENST_ENV": "production", "PASDIENST_SECRET_KEY": "x" * 32})
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        load_settings({**env, "PASDIENST_TODAY": "01-03-2027"})


def test_defaults_follow_the_contract(tmp_path):
    settings = load_settings({"PASDIENST_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == "sqlite:///instance/pasdienst.db"
    assert settings.ratelimit_storage_url == "memory://"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.env == "development"

"""Settings from the environment (CONTRACT.md, "Settings").

Read once into a frozen dataclass so that services and the CLI get the same
values the web app does, and tests can build their own without touching
``os.environ``.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///instance/pasdienst.db"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the service refuses to start."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_keys: tuple[str, ...] = field(default_factory=tuple)
    env: str = "development"
    ratelimit_storage_url: str = "memory://"
    base_url: str = "http://127.0.0.1:8000"
    today: date | None = None
    instance_path: Path = Path("instance")
    sepa_schema: str = "pain.001.001.09"
    #: The background jobs' queue (huey): ``sqlite:///PATH`` or ``redis://…``; empty: ``instance/queue.db``.
    queue_url: str = ""

    @property
    def secret_key(self) -> str:
        """The key that signs; older keys in ``secret_keys`` only verify."""
        return self.secret_keys[-1]

    @property
    def production(self) -> bool:
        return self.env == "production"


def _secret_keys(env: str, instance: Path, environ: dict[str, str]) -> tuple[str, ...]:
    # Several keys may be given, comma-separated, oldest first: the last one
    # signs, all of them verify. That lets an operator rotate the key without
    # invalidating passes already printed on paper.
    raw = environ.get("PASDIENST_SECRET_KEY", "").strip()
    if raw:
        keys = tuple(k.strip() for k in raw.split(",") if k.strip())
        if any(len(k) < 16 for k in keys):
            raise ConfigError("PASDIENST_SECRET_KEY must be at least 16 characters")
        return keys
    if env == "production":
        raise ConfigError(
            "PASDIENST_SECRET_KEY is required when PASDIENST_ENV=production "
            "(it signs sessions and pass tokens)"
        )
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return (key_file.read_text().strip(),)


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    env_vars = dict(os.environ if environ is None else environ)
    env = env_vars.get("PASDIENST_ENV", "development").strip() or "development"
    if env not in ("development", "production"):
        raise ConfigError(f"PASDIENST_ENV must be development or production, not {env!r}")
    instance = Path(env_vars.get("PASDIENST_INSTANCE_PATH", "instance"))
    today_raw = env_vars.get("PASDIENST_TODAY", "").strip()
    today = None
    if today_raw:
        if env == "production":
            raise ConfigError("PASDIENST_TODAY is refused when PASDIENST_ENV=production")
        try:
            today = date.fromisoformat(today_raw)
        except ValueError:
            raise ConfigError(f"PASDIENST_TODAY must be YYYY-MM-DD, not {today_raw!r}") from None
    values: dict[str, object] = dict(
        database_url=env_vars.get("PASDIENST_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        env=env,
        ratelimit_storage_url=env_vars.get("PASDIENST_RATELIMIT_STORAGE_URL", "").strip() or "memory://",
        base_url=(env_vars.get("PASDIENST_BASE_URL", "").strip() or "http://127.0.0.1:8000").rstrip("/"),
        today=today,
        instance_path=instance,
        sepa_schema=env_vars.get("PASDIENST_SEPA_SCHEMA", "").strip() or "pain.001.001.09",
        queue_url=env_vars.get("PASDIENST_QUEUE_URL", "").strip(),
    )
    values.update(overrides)
    if "secret_keys" not in values:
        values["secret_keys"] = _secret_keys(env, instance, env_vars)
    return Settings(**values)  # type: ignore[arg-type]

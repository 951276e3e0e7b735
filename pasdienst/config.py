"""Settings from the environment (CONTRACT.md, "Settings").

Read once into a frozen dataclass so that services and the CLI get the same
values the web app does, and tests can build their own without touching
``os.environ``.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from limits import parse_many

DEFAULT_DATABASE_URL = "sqlite:///instance/pasdienst.db"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Far above a busy till (CONTRACT.md: at least 120 per merchant per minute).
DEFAULT_TILL_RATE_LIMIT = "300 per minute"


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
    #: Where reminder e-mails go (``reminders/mail.py``): ``smtp://[USER:PASSWORD@]HOST[:PORT][?starttls=1]``,
    #: ``smtps://…`` (TLS from the start) or ``console://`` (written to the worker's log, not sent);
    #: empty: ``console://`` in development, no e-mail in production.
    smtp_url: str = ""
    #: The sender of reminder e-mails; empty: ``kinderpas@`` the host of ``base_url``.
    mail_from: str = ""
    #: Scans, redemptions and voids per merchant login or API token (``PASDIENST_TILL_RATE_LIMIT``);
    #: a load test raises it.
    till_rate_limit: str = DEFAULT_TILL_RATE_LIMIT

    def __post_init__(self) -> None:
        # A mistyped limit stops the service at start-up, not at the first payment.
        try:
            parse_many(self.till_rate_limit)
        except ValueError:
            raise ConfigError(
                f"PASDIENST_TILL_RATE_LIMIT must be a rate such as '600 per minute', not {self.till_rate_limit!r}"
            ) from None

    @property
    def secret_key(self) -> str:
        """The key that signs; older keys in ``secret_keys`` only verify."""
        return self.secret_keys[-1]

    @property
    def production(self) -> bool:
        return self.env == "production"


_MAIL_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


@dataclass(frozen=True)
class SmtpTarget:
    """``PASDIENST_SMTP_URL`` read: how reminder e-mails leave (``reminders/mail.py`` sends them)."""

    #: ``smtp`` (plain, optionally upgraded with STARTTLS), ``smtps`` (TLS from the start) or ``console``.
    scheme: str
    host: str = ""
    port: int = 0
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    #: Seconds to wait for the server before a send counts as failed.
    timeout: float = 10.0


def parse_smtp_url(url: str) -> SmtpTarget | None:
    """The SMTP target of ``url``; None for an empty one. Raises ``ConfigError`` on anything else."""
    raw = url.strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return SmtpTarget("console")
    # The URL may hold a password: the message never repeats it.
    problem = "PASDIENST_SMTP_URL must be smtp://HOST:PORT, smtps://HOST:PORT or console://"
    if scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(problem)
    try:
        port = parts.port or (465 if scheme == "smtps" else 25)
    except ValueError:
        raise ConfigError(problem) from None
    options = dict(parse_qsl(parts.query))
    unknown = set(options) - {"starttls", "timeout"}
    if unknown:
        raise ConfigError(f"PASDIENST_SMTP_URL: unknown option {sorted(unknown)[0]!r} (starttls, timeout)")
    starttls = options.get("starttls", "0").lower() in ("1", "true", "yes")
    try:
        timeout = float(options.get("timeout", "10"))
    except ValueError:
        raise ConfigError("PASDIENST_SMTP_URL: timeout must be a number of seconds") from None
    if not 0 < timeout <= 300:
        raise ConfigError("PASDIENST_SMTP_URL: timeout must be more than 0 and at most 300 seconds")
    return SmtpTarget(
        scheme, parts.hostname, port, unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None, starttls, timeout,
    )


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
        smtp_url=env_vars.get("PASDIENST_SMTP_URL", "").strip(),
        mail_from=env_vars.get("PASDIENST_MAIL_FROM", "").strip(),
        till_rate_limit=env_vars.get("PASDIENST_TILL_RATE_LIMIT", "").strip() or DEFAULT_TILL_RATE_LIMIT,
    )
    values.update(overrides)
    parse_smtp_url(str(values["smtp_url"]))  # a typo stops the service at start-up, not at the first reminder
    mail_from = str(values["mail_from"])
    if mail_from and not _MAIL_ADDRESS.fullmatch(mail_from):
        raise ConfigError(f"PASDIENST_MAIL_FROM must be an e-mail address such as kinderpas@gemeente.nl, not {mail_from!r}")
    if "secret_keys" not in values:
        values["secret_keys"] = _secret_keys(env, instance, env_vars)
    return Settings(**values)  # type: ignore[arg-type]  # values parsed per field above; the dict is keyed by field name

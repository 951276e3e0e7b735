"""Fixtures: a fresh database per test, on SQLite and (for money) PostgreSQL.

Tests that move money carry ``@pytest.mark.money`` and run twice, once per
database; every other test runs on SQLite only. The schema always comes from
the Alembic migrations, so the tests exercise what production runs.

* SQLite: the migrated schema is built once per session into a template file
  and copied (SQLite backup API) into each test's own file.
* PostgreSQL: one schema per xdist worker, migrated once; each test starts
  from truncated tables. TRUNCATE does not fire the row triggers that make
  the ledger append-only, so this stays possible while DELETE is refused.

Passwords are hashed with argon2id at its cheapest (``cheap_password_hashes``):
at the service's own parameters every hash and every login costs about 0.2 s
of a core. ``production_password_hashes`` puts the service's hasher back, for
the tests of those parameters (tests/access/test_passwords.py).
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pasdienst import migrate
from pasdienst.access import passwords
from pasdienst.config import DEFAULT_TEST_POSTGRES_URL, Settings
from pasdienst.db import Database
from pasdienst.plugins import load_verify_checks

POSTGRES_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
TEST_KEY = "test-secret-key-0123456789abcdef"
#: Database 15: tests flush it, so it must not be one an installation uses.
REDIS_URL = os.environ.get("PASDIENST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# CI runs the suite once on a fresh clone and one failure stops a landing, so
# there the property tests draw the same examples on every run: a verdict
# must not depend on the seed of the day. On a developer's machine they keep
# drawing new examples (and remember failing ones in .hypothesis/).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


#: What the service hashes passwords with, kept before ``cheap_password_hashes`` replaces it.
PRODUCTION_HASHER = passwords._hasher


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    # Still argon2id, so a stored hash looks and verifies as it does in production.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
        yield


@pytest.fixture
def production_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own argon2id parameters for this test (about 0.2 s a hash)."""
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The slow tests (fuzzing, faults, whole years in the browser) start first, so
    # that with worksteal the short ones fill in around them and no long one is
    # left running alone at the end while the other worker has nothing to do.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    explicit = any("backend" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "backend" in metafunc.fixturenames and not explicit:
        money = metafunc.definition.get_closest_marker("money") is not None
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if money else ["sqlite"], scope="function")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


def _postgres_schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    # Unique per process: two test runs on one machine (or one server) must
    # never share, and so drop, each other's schema.
    schema = f"pasdienst_t_{_worker()}_{os.getpid()}"
    admin = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - environment problem, not a test result
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc}); ./scripts/test starts it", pytrace=False)
    url = _postgres_schema_url(schema)
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture
def backend() -> str:  # parametrized by pytest_generate_tests
    return "sqlite"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        _truncate_all(url)
        return url
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "pasdienst.db"
    src, dst = sqlite3.connect(template), sqlite3.connect(path)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    load_verify_checks()
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_keys=(TEST_KEY,),
        env="development",
        base_url="https://pas.example.nl",
        instance_path=tmp_path / "instance",
    )


@pytest.fixture
def app(settings: Settings, db: Database):
    from pasdienst.web.app import create_app

    application = create_app(settings, db=db)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def client(app):
    return app.test_client()


class Cli:
    """Runs ``pasdienst`` commands against the test's database."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.env = {
            "PASDIENST_DATABASE_URL": database_url,
            "PASDIENST_SECRET_KEY": TEST_KEY,
            "PASDIENST_INSTANCE_PATH": str(tmp_path / "instance"),
            "PASDIENST_BASE_URL": "https://pas.example.nl",
        }

    def __call__(self, *args: str, ok: bool = True, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        from pasdienst.cli import main

        result = CliRunner().invoke(main, list(args), env={**self.env, **(env or {})}, input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"pasdienst {' '.join(args)} failed:\n{result.output}"
        return result


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis, emptied before and after the test (shared rate limits).

    One test at a time has it: the xdist workers (and any other test run on
    this machine) share the one database, and a test that flushed it or counted
    its keys while another used it would fail at random. The lock is a file
    beside the system's temporary files, so every process sees the same one.
    """
    where = urlsplit(REDIS_URL)
    lock_path = Path(tempfile.gettempdir()) / f"pasdienst-test-redis-{where.port or 6379}{where.path.replace('/', '-')}.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.ConnectionError as exc:  # pragma: no cover - environment problem
            pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}); ./scripts/test starts it", pytrace=False)
        client.flushdb()
        yield REDIS_URL
        client.flushdb()
        client.close()


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path)

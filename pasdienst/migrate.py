"""Alembic, driven from code: ``pasdienst db upgrade`` and the tests use this."""
from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database"] = db
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    # "head", not "heads": two heads (two branches that each added a
    # migration) are an error to fix in the code, never something to apply.
    command.upgrade(alembic_config(db), revision)


def downgrade(db: Database, revision: str) -> None:
    command.downgrade(alembic_config(db), revision)


@functools.cache
def _shipped_heads() -> frozenset[str]:
    # The migration scripts ship with the code and cannot change while it
    # runs; reading them takes ~10 ms, too much for every /readyz probe.
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def head_revisions(db: Database | None = None) -> set[str]:
    return set(_shipped_heads())


def current_revisions(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(db: Database) -> str | None:
    """The applied revision(s), comma-separated; None on an empty database."""
    return ",".join(sorted(current_revisions(db))) or None


def head_revision(db: Database) -> str | None:
    return ",".join(sorted(head_revisions(db))) or None


def is_current(db: Database) -> bool:
    return current_revisions(db) == head_revisions(db)

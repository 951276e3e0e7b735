"""Alembic, driven from code: ``pasdienst db upgrade`` and the tests use this."""
from __future__ import annotations

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


def upgrade(db: Database, revision: str = "heads") -> None:
    command.upgrade(alembic_config(db), revision)


def downgrade(db: Database, revision: str) -> None:
    command.downgrade(alembic_config(db), revision)


def head_revisions(db: Database) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(db)).get_heads())


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

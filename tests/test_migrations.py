"""The migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pasdienst import migrate
from pasdienst.models import metadata

pytestmark = pytest.mark.money  # run on SQLite and PostgreSQL


def test_models_and_migrations_do_not_drift(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_the_migrations_have_one_head():
    """Two heads mean two branches each added a migration: renumber one to follow the other."""
    assert len(migrate.head_revisions()) == 1


def test_a_database_is_current_only_at_the_head(db):
    assert migrate.is_current(db)
    migrate.downgrade(db, "-1")
    assert not migrate.is_current(db)  # what /readyz reports as not ready
    migrate.upgrade(db)
    assert migrate.is_current(db)


def test_migrations_go_down_and_up_again(db):
    migrate.downgrade(db, "base")
    assert migrate.current_revision(db) is None
    migrate.upgrade(db)
    assert migrate.is_current(db)

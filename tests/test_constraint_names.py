"""Code that answers a unique violation compares the constraint's name, never the error's text.

``db.violated_constraint`` names it on both databases: PostgreSQL reports the
name, SQLite only the columns, which the models' metadata maps back to it.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from pasdienst.db import violated_constraint
from pasdienst.municipalities.models import Municipality

pytestmark = pytest.mark.money  # both databases


def _insert_twice(db, values: dict) -> IntegrityError:
    with pytest.raises(IntegrityError) as twice:
        with db.transaction() as s:
            s.execute(insert(Municipality), [values, {**values, "id": values["id"] + 1}])
    return twice.value


def test_a_second_row_with_the_same_code_names_the_unique_constraint(db):
    clash = _insert_twice(db, {"id": 1, "code": "testdorp", "name": "Testdorp", "low_budget_threshold_cents": 0})
    assert violated_constraint(clash) == "uq_municipality_code"
    assert violated_constraint(clash.orig) == "uq_municipality_code"  # the bare driver's error too


def test_anything_else_names_no_constraint():
    assert violated_constraint(sqlite3.IntegrityError("NOT NULL constraint failed: redemption.receipt_no")) is None
    assert violated_constraint(ValueError("UNIQUE constraint failed: municipality.code")) is None
    assert violated_constraint(sqlite3.IntegrityError("UNIQUE constraint failed: no_such_table.code")) is None

"""Only the db layer asks which database it runs on.

What differs between SQLite and PostgreSQL (bulk writes, advisory locks,
inserts that skip a taken key, the bare driver, statements written out per
database) lives in ``pasdienst/db/``; a feature picks its variant of
something through ``db.PerDialect`` or calls a helper that does the same
thing on either database. A branch on the database's name anywhere else is
the start of a second db layer: this test fails on one. Migrations are
exempt (Alembic runs them per database by nature).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pasdienst

ROOT = Path(pasdienst.__file__).parent
EXEMPT = ("db", "migrations")


def _is_dialect(node: ast.AST) -> bool:
    """``dialect`` or ``….dialect``: a SQLAlchemy dialect, or ``Database.dialect`` (its name)."""
    return (isinstance(node, ast.Name) and node.id == "dialect") or (
        isinstance(node, ast.Attribute) and node.attr == "dialect"
    )


def _asks_which_database(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "name" and _is_dialect(node.value):
        return True  # dialect.name, session.get_bind().dialect.name
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        if any(_is_dialect(operand) for operand in operands):
            return True  # db.dialect == "postgresql"
        return any(
            isinstance(operand, ast.Call)
            and isinstance(operand.func, ast.Attribute)
            and operand.func.attr == "get_backend_name"
            for operand in operands
        )
    return False


def _offences(source: str) -> list[int]:
    return sorted({node.lineno for node in ast.walk(ast.parse(source)) if _asks_which_database(node)})


def test_no_module_outside_the_db_layer_branches_on_the_database():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in EXEMPT:
            continue
        found += [f"pasdienst/{relative.as_posix()}:{line}" for line in _offences(path.read_text(encoding="utf-8"))]
    assert found == [], "ask the db layer (pasdienst/db/) instead of the database's name:\n" + "\n".join(found)


def test_the_check_sees_the_ways_code_asks_which_database_it_runs_on():
    for branch in (
        'if session.get_bind().dialect.name == "postgresql": pass',
        'insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert',
        "statements = DIALECTS[conn.dialect.name]",
        'if dialect.name != "sqlite": pass',
        'pipelined = db.dialect == "postgresql"',
        'if url.get_backend_name() != "sqlite": pass',
    ):
        assert _offences(branch) == [1], branch
    for fine in (
        "writes = WRITES.of(session.connection())",
        "session.execute(insert_ignoring_conflicts(session, table), rows)",
        "hold_lock(session, 'settlement', municipality_id)",
    ):
        assert _offences(fine) == [], fine

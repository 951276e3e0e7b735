"""``pasdienst demo`` and how ``./scripts/serve`` uses it: the demo data set
(fixed passwords) never goes into production, nor into a database that holds
real data."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pasdienst.access.models import User
from pasdienst.municipalities.models import Municipality
from pasdienst.wallet.models import Child, ChildPass

TODAY = {"PASDIENST_TODAY": "2027-03-01"}
ROOT = Path(__file__).resolve().parents[1]


def _counts(db) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Municipality)).scalar_one(),
            s.execute(select(func.count()).select_from(User)).scalar_one(),
            s.execute(select(func.count()).select_from(ChildPass)).scalar_one(),
        )


@pytest.mark.parametrize("args", [("demo",), ("demo", "--if-empty")])
def test_the_demo_is_refused_in_production_with_one_line_and_writes_nothing(cli, db, args):
    result = cli(*args, ok=False, env={"PASDIENST_ENV": "production"})
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "PASDIENST_ENV=production" in lines[0], result.output
    assert _counts(db) == (0, 0, 0)


@pytest.mark.money
def test_if_empty_loads_the_demo_into_an_empty_database_only_and_never_issues_to_children_added_since(cli, db, tmp_path):
    first = cli("demo", "--if-empty", env=TODAY).output
    assert "demo logins at /login" in first and "pass KP-2027-" in first
    loaded = _counts(db)
    assert loaded[0] == 2 and loaded[2] > 0  # demodorp and its neighbour in the cooperation, buurdorp

    # The operator imports a child by hand and has not issued its pass yet.
    csv = tmp_path / "nieuw.csv"
    csv.write_text(
        "child_ref;first_name;birth_date;household_ref;income_pct;override_reason;bsn;email;postcode\n"
        "HAND-1;Ties;2016-04-04;HH-HAND;100;;;;\n"
    )
    cli("children", "import", "demodorp", str(csv), env=TODAY)

    again = cli("demo", "--if-empty", env=TODAY).output  # ./scripts/serve restarted
    assert "demo data not loaded" in again and "pass KP-" not in again
    assert _counts(db) == loaded
    with db.read() as s:
        child = s.execute(select(Child.id).where(Child.child_ref == "HAND-1")).scalar_one()
        assert s.execute(select(func.count()).select_from(ChildPass).where(ChildPass.child_id == child)).scalar_one() == 0


def test_if_empty_leaves_a_database_that_holds_a_municipality_alone(cli, db):
    cli("municipality", "add", "opsterland", "--name", "Gemeente Opsterland")
    before = _counts(db)
    assert "demo data not loaded" in cli("demo", "--if-empty").output
    assert _counts(db) == before


def test_scripts_serve_loads_the_demo_only_into_an_empty_database():
    commands = [shlex.split(line) for line in (ROOT / "scripts" / "serve").read_text().splitlines() if " demo" in line]
    demo = [c for c in commands if c[:2] == [".venv/bin/pasdienst", "demo"]]
    assert demo == [[".venv/bin/pasdienst", "demo", "--if-empty"]]

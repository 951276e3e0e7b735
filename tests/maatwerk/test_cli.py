"""``pasdienst maatwerk show``: the figures per team and fund on the command line."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.money


def test_the_command_line_shows_each_team_and_fund_with_its_budget(maat, cli):
    done = maat.team_award("225,00")
    maat.spend(done.award.id, 5000)
    maat.fund_award("90,00")
    lines = cli("maatwerk", "show", "testdorp", "--year", "2027").stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == ["team", "Gebiedsteam", "Noord", "1", "awards", "225.00", "awarded", "50.00", "spent;",
                                "budget", "1000.00,", "left", "775.00"]
    assert lines[1].split()[:8] == ["fund", "Jeugdfonds", "Sport", "&", "Cultuur", "1", "awards", "90.00"]


def test_an_unknown_municipality_is_one_line_on_stderr(maat, cli):
    result = cli("maatwerk", "show", "nergensdorp", "--year", "2027", ok=False)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1

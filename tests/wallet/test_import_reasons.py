"""Rejection reasons: English on the command line and in FILE.rejected.csv (CONTRACT.md), Dutch for the back office."""
from __future__ import annotations

import re
import string

import pytest

from pasdienst.wallet.children import _REASONS, Rejected, RowProblem
from pasdienst.web.dutch import row_problem

_FIELDS = string.Formatter()


def _placeholders(template: str) -> set[str]:
    return {name for _text, name, _spec, _conv in _FIELDS.parse(template) if name}


@pytest.mark.parametrize("code", sorted(_REASONS))
def test_each_reason_says_the_same_in_both_languages(code):
    english = _REASONS[code]
    # Filled in with values, neither language leaves a placeholder or falls back to the other.
    params = {name: "X" for name in _placeholders(english)}
    rejected = Rejected(2, {}, RowProblem(code, **params))
    dutch = row_problem(rejected.problem)
    assert "{" not in rejected.reason and "{" not in dutch and "%(" not in dutch
    assert rejected.reason != dutch


def test_the_dutch_reason_names_the_column_as_the_file_does_and_says_what_it_is():
    rejected = Rejected(2, {}, RowProblem("missing", column="birth_date"))
    assert rejected.reason == "birth_date is missing"
    assert row_problem(rejected.problem) == "geboortedatum (birth_date) ontbreekt"
    unknown = Rejected(2, {}, RowProblem("control_characters", column="opmerking"))
    assert row_problem(unknown.problem) == "opmerking bevat stuurtekens"


def test_the_command_line_keeps_its_english_reasons(cli, tmp_path):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    source = tmp_path / "kids.csv"
    source.write_text("child_ref;first_name;birth_date\nK-1;Nora;2017-02-30\nK-2;;2017-01-01\n", encoding="utf-8")
    out = cli("children", "import", "opsterland", str(source), env={"PASDIENST_TODAY": "2027-01-15"}).stdout
    assert "line 2: birth_date '2017-02-30' is not a real date" in out
    assert "line 3: first_name is missing" in out
    written = (tmp_path / "kids.rejected.csv").read_text(encoding="utf-8-sig")
    assert written.splitlines()[0].endswith(";reason")
    assert not re.search(r"ontbreekt|bestaat niet|reden", written)

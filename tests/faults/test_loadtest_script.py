"""``scripts/loadtest.py`` runs end to end: a short load on PostgreSQL with
no errors, then a clean ``pasdienst ledger verify`` and money that adds up."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_short_load_test_reports_zero_errors_and_a_clean_ledger():
    done = subprocess.run(
        [sys.executable, "-m", "scripts.loadtest", "--users", "5", "--seconds", "5", "--warmup", "1", "--passes", "100",
         "--workers", "2"],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr[-3000:]}"
    errors = re.search(r"errors: (\d+) of (\d+) requests", out)
    assert errors, out
    assert int(errors.group(1)) == 0 and int(errors.group(2)) > 0, out
    assert re.search(r"^\s+all\s+\d+", out, re.M), out
    assert "ledger verify: ok (exit 0)" in out, out
    assert "as the cashiers were told -> ok" in out, out
    assert out.rstrip().endswith("RESULT: ok"), out

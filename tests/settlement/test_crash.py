"""Killing a settlement run halfway leaves all or nothing; running it again finishes the job.

The command runs in a subprocess that SIGKILLs itself at a named point
(``PASDIENST_FAULT``, see pasdienst/settlement/faults.py): no rollback, no
cleanup, like a power cut. Then the state is checked and the same command is
run again.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from pasdienst import books, ledger
from pasdienst import faults
from pasdienst.settlement.models import SettlementBatch, SettlementLine

from .conftest import SettlementWorld, a_month, approve, balance, counts, create, payable

pytestmark = pytest.mark.money

TODAY_ENV = {"PASDIENST_TODAY": "2027-03-15"}


def killed_at(cli, point: str, *args: str) -> None:
    env = {**os.environ, **cli.env, **TODAY_ENV, faults.ENV: point}
    code = "import sys; from pasdienst.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, f"{point}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def settle_transfers(world: SettlementWorld) -> int:
    with world.db.read() as s:
        return ledger.kind_totals(s, "testdorp").get(books.SETTLE, 0)


@pytest.mark.parametrize("point", ["settlement.create.after_claim", "settlement.create.before_commit"])
def test_a_create_killed_halfway_left_nothing_and_runs_again(cli, world: SettlementWorld, point):
    a_month(world)
    killed_at(cli, point, "settlement", "create", "testdorp", "--until", "2027-03-15", "--by", world.finance.email)
    assert counts(world) == (0, 0, 0, 0)
    result = cli("settlement", "create", "testdorp", "--until", "2027-03-15", "--by", world.finance.email, env=TODAY_ENV)
    assert result.output.strip().splitlines()[-1].isdigit()
    assert counts(world)[:3] == (1, 3, 4) and world.verify() == []


def test_an_approval_killed_after_its_transfers_left_nothing_and_runs_again(cli, world: SettlementWorld):
    a_month(world)
    batch = create(world)
    killed_at(cli, "settlement.approve.after_transfers", "settlement", "approve", str(batch.id), "--by", world.finance2.email)
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "draft"
        assert s.execute(select(func.count()).select_from(SettlementLine).where(SettlementLine.settle_transfer_id.is_not(None))).scalar_one() == 0
    assert settle_transfers(world) == 0 and payable(world, "sport") == 3250
    cli("settlement", "approve", str(batch.id), "--by", world.finance2.email, env=TODAY_ENV)
    cli("settlement", "approve", str(batch.id), "--by", world.finance2.email, env=TODAY_ENV)
    assert settle_transfers(world) == batch.total_cents
    assert balance(world, books.clearing_key("testdorp")) == batch.total_cents and world.verify() == []


def test_an_export_killed_after_writing_the_file_is_finished_by_running_it_again(cli, world: SettlementWorld, tmp_path):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    sepa = tmp_path / "batch.xml"
    killed_at(cli, "settlement.export.after_files", "settlement", "export", str(batch.id), "--sepa", str(sepa))
    first = sepa.read_bytes()
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "approved"
    assert not list(tmp_path.glob(".batch.xml.*"))  # no half-written temporary file left
    result = cli("settlement", "export", str(batch.id), "--sepa", str(sepa), env=TODAY_ENV)
    assert "is now exported" in result.output and sepa.read_bytes() == first
    cli("settlement", "paid", str(batch.id), "--by", world.finance.email, env=TODAY_ENV)
    assert balance(world, books.bank_key("testdorp")) == batch.total_cents and world.verify() == []


def test_a_fault_inside_the_create_transaction_rolls_it_back(world: SettlementWorld, monkeypatch):
    a_month(world)

    def fail(name: str) -> None:
        if name == "settlement.create.after_claim":
            raise RuntimeError("injected")

    monkeypatch.setattr(faults, "checkpoint", fail)
    with pytest.raises(RuntimeError, match="injected"):
        create(world)
    assert counts(world) == (0, 0, 0, 0)
    monkeypatch.undo()
    assert create(world).count == 4

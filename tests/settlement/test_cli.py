"""``pasdienst settlement …`` and ``pasdienst municipality set-iban``: month end from the command line."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pasdienst.access.models import AuditEvent
from pasdienst.municipalities.models import Municipality
from pasdienst.settlement.models import SettlementBatch
from pasdienst.settlement.sepa import parse_summary, validate_pain001

from .conftest import SettlementWorld, a_month, counts

pytestmark = pytest.mark.money

TODAY_ENV = {"PASDIENST_TODAY": "2027-03-15"}


def run(cli, *args: str, ok: bool = True):
    return cli(*args, ok=ok, env=TODAY_ENV)


def last_line(result) -> str:
    return result.output.strip().splitlines()[-1]


def test_month_end_from_the_command_line(cli, world: SettlementWorld, tmp_path):
    a_month(world)
    made = run(cli, "settlement", "create", "testdorp", "--until", "2027-03-15", "--by", world.finance.email)
    batch_id = last_line(made)
    assert batch_id.isdigit() and "4 redemptions, 127.49 EUR" in made.output

    refused = run(cli, "settlement", "approve", batch_id, "--by", world.finance.email, ok=False)
    assert refused.exit_code == 1
    assert refused.output.strip() == f"error: batch {batch_id} was created by {world.finance.email}; another finance user must approve it (four eyes)"
    run(cli, "settlement", "approve", batch_id, "--by", world.finance2.email)

    sepa, csv, statements = tmp_path / "b.xml", tmp_path / "b.csv", tmp_path / "afrekeningen"
    exported = run(cli, "settlement", "export", batch_id, "--sepa", str(sepa), "--csv", str(csv), "--statements", str(statements))
    assert "3 transfers, CtrlSum 127.49 EUR" in exported.output and "is now exported" in exported.output
    validate_pain001(sepa.read_bytes(), "pain.001.001.09")
    assert parse_summary(sepa.read_bytes())["nb_of_txs"] == 3
    assert len(list(statements.glob("*.html"))) == 3 and csv.read_bytes().startswith(b"\xef\xbb\xbf")
    first = sepa.read_bytes()
    again = run(cli, "settlement", "export", batch_id, "--sepa", str(sepa))
    assert sepa.read_bytes() == first and "exported before" in again.output

    run(cli, "settlement", "paid", batch_id, "--by", world.finance.email)
    assert "already marked paid" in run(cli, "settlement", "paid", batch_id, "--by", world.finance.email).output
    verified = run(cli, "ledger", "verify")
    assert "ledger ok" in verified.output
    shown = run(cli, "settlement", "show", batch_id).output
    assert "paid" in shown and world.finance2.email in shown and "Sportclub De Sprint" in shown
    assert f"{batch_id}  paid" in run(cli, "settlement", "list", "testdorp").output


def test_nothing_to_settle_exits_zero_without_an_id(cli, world: SettlementWorld):
    result = run(cli, "settlement", "create", "testdorp", "--until", "2027-03-15", "--by", world.finance.email)
    assert result.output.strip() == "nothing to settle for testdorp before 2027-03-15"
    assert counts(world) == (0, 0, 0, 0)


@pytest.mark.parametrize("args, reason", [
    (["--until", "15-03-2027", "--by", "{finance}"], "Invalid value for '--until'"),
    (["--until", "2027-03-16", "--by", "{finance}"], "is after today"),
    (["--until", "2027-03-15", "--by", "niemand@testdorp.example"], "no active user"),
    (["--until", "2027-03-15", "--by", "{admin}"], "this needs a finance user"),
])
def test_create_refuses_bad_input_and_writes_nothing(cli, world: SettlementWorld, args, reason):
    a_month(world)
    args = [a.format(finance=world.finance.email, admin=world.admin.email) for a in args]
    result = run(cli, "settlement", "create", "testdorp", *args, ok=False)
    assert result.exit_code != 0 and reason in result.output
    assert counts(world) == (0, 0, 0, 0)


def test_set_iban_checks_the_account_and_logs_who_changed_it(cli, world: SettlementWorld):
    result = run(cli, "municipality", "set-iban", "testdorp", "--iban", "NL44 RABO 0123 4567 89")
    assert "pays from IBAN NL44RABO0123456789, BIC RABONL2U" in result.output
    refused = run(cli, "municipality", "set-iban", "testdorp", "--iban", "NL44RABO0123456780", ok=False)
    assert refused.exit_code == 1 and "check digits" in refused.output
    with world.db.read() as s:
        assert s.execute(select(Municipality.iban).where(Municipality.code == "testdorp")).scalar_one() == "NL44RABO0123456789"
        changes = s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "municipality.set_iban")).scalar_one()
    assert changes == 1


def test_export_of_an_unknown_or_draft_batch_is_refused(cli, world: SettlementWorld, tmp_path):
    a_month(world)
    batch_id = last_line(run(cli, "settlement", "create", "testdorp", "--until", "2027-03-15", "--by", world.finance.email))
    draft = run(cli, "settlement", "export", batch_id, "--sepa", str(tmp_path / "x.xml"), ok=False)
    assert draft.exit_code == 1 and "approve it first" in draft.output and not (tmp_path / "x.xml").exists()
    unknown = run(cli, "settlement", "export", "999999", "--sepa", str(tmp_path / "x.xml"), ok=False)
    assert unknown.exit_code == 1 and "no settlement batch 999999" in unknown.output
    with world.db.read() as s:
        assert s.execute(select(SettlementBatch.status)).scalars().all() == ["draft"]

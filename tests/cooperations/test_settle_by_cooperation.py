"""Payout by the cooperation: members approve their own batches, the lead's finance pays them all in one file
from the cooperation's account, each member's share moved to it by two labelled transfers."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from pasdienst import books, ledger
from pasdienst.access.errors import Forbidden
from pasdienst.cooperations import runs
from pasdienst.cooperations.models import CooperationRemittance
from pasdienst.redeem import redemptions
from pasdienst.settlement import returns
from pasdienst.settlement import batches, corrections as settlement_corrections, export as settlement_export
from pasdienst.settlement.errors import NothingToSettle, WrongState
from pasdienst.settlement.models import APPROVED, EXPORTED, PAID, SettlementBatch
from pasdienst.settlement.payment_file import PaymentFile
from pasdienst.settlement.sepa import parse_summary
from tests.cooperations.conftest import TODAY, at, form_region

pytestmark = pytest.mark.money

COOP_IBAN = "NL44RABO0123456789"


@pytest.fixture
def region(db, region_settings):
    return form_region(db, region_settings, payout="cooperation")


def approved(region, member: str, until) -> int:
    first, second = region.finance[member]
    with region.db.transaction() as s:
        batch = batches.create_batch(s, region.actor(first), member, until=until, today=until)
    with region.db.transaction() as s:
        batches.approve_batch(s, region.actor(second), batch.id)
    return batch.id


def lead(region, n: int = 0):
    return region.actor(region.finance["noord"][n])


def make_run(region) -> int:
    with region.db.transaction() as s:
        return runs.create_run(s, lead(region), "regio", now=at(14)).id


def export_run(region, run_id: int) -> PaymentFile:
    with region.db.read() as s:
        files = runs.build_run_export(s, lead(region), run_id, schema=region.settings.sepa_schema, today=TODAY)
    with region.db.transaction() as s:
        runs.record_run_export(s, lead(region), files, now=at(14, 13))
    return files


def statuses(region, *batch_ids) -> list[str]:
    with region.db.read() as s:
        return [s.get(SettlementBatch, b).status for b in batch_ids]


def test_a_full_cycle_paid_by_the_cooperation_with_a_void_and_a_correction_across_members(db, region):
    sport, mode = region.merchants["sport"], region.merchants["mode"]
    region.redeem("sport", "zuid", 2500, when=at(2))
    region.redeem("sport", "noord", 1000, when=at(3))
    corrected = region.redeem("mode", "noord", 3000, when=at(4))
    region.redeem("mode", "zuid", 4000, when=at(5))
    voided = region.redeem("mode", "zuid", 999, when=at(6, 10))
    with db.transaction() as s:
        redemptions.void(s, region.till("mode"), voided, today=at(6).date(), now=at(6, 11))
    noord_batch, zuid_batch = approved(region, "noord", at(10).date()), approved(region, "zuid", at(10).date())

    # A member does not export or pay its batch itself any more.
    zuid_finance = region.actor(region.finance["zuid"][0])
    with db.read() as s, pytest.raises(WrongState) as refused:
        settlement_export.build_export(s, zuid_finance, zuid_batch, today=TODAY)
    assert refused.value.refusal == "batch_paid_by_cooperation"
    # Only the lead's finance makes the run.
    with db.transaction() as s, pytest.raises(Forbidden):
        runs.create_run(s, zuid_finance, "regio", now=at(14))

    run_id = make_run(region)
    # Each member's share left its clearing for the cooperation, by a transfer that says so in each partition.
    assert region.balance(books.clearing_key("noord")) == region.balance(books.clearing_key("zuid")) == 0
    assert region.balance(books.remitted_key("noord", "regio")) == 4000
    assert region.balance(books.remitted_key("zuid", "regio")) == 6500
    assert region.balance(books.share_key("regio", "zuid")) == -6500
    assert region.balance(books.clearing_key("sv.regio")) == 10500
    with db.read() as s:
        kinds = {
            (t.ledger, t.kind)
            for t in s.execute(select(ledger.Transfer).where(ledger.Transfer.id.in_(
                select(CooperationRemittance.member_transfer_id).union(select(CooperationRemittance.cooperation_transfer_id))
            ))).scalars()
        }
    assert kinds == {("noord", books.REMIT), ("zuid", books.REMIT), ("sv.regio", books.RECEIVE)}
    assert statuses(region, noord_batch, zuid_batch) == [APPROVED, APPROVED]
    assert region.verify() == []

    files = export_run(region, run_id)
    summary = parse_summary(files.sepa)
    assert (summary["debtor_iban"], summary["debtor_name"]) == (COOP_IBAN, "Kindpakket De Regio")
    assert sorted((p.end_to_end_id, p.amount_cents) for p in summary["payments"]) == [
        (f"KP-R{run_id}-M{sport}", 3500), (f"KP-R{run_id}-M{mode}", 7000),
    ]
    allocation = list(csv.reader(io.StringIO(files.csv.decode("utf-8-sig")), delimiter=";"))
    assert allocation[0][:2] == ["end_to_end_id", "merchant_id"]
    assert sorted((row[1], row[5], row[8]) for row in allocation[1:]) == [
        (str(sport), "noord", "10,00"), (str(sport), "zuid", "25,00"), (str(mode), "noord", "30,00"), (str(mode), "zuid", "40,00"),
    ]
    assert statuses(region, noord_batch, zuid_batch) == [EXPORTED, EXPORTED]
    again = export_run(region, run_id)
    assert again.sepa == files.sepa  # the identical file

    with db.read() as s, pytest.raises(WrongState) as refused:
        batches.mark_paid(s, zuid_finance, zuid_batch)
    assert refused.value.refusal == "batch_in_cooperation_run"
    with db.transaction() as s, pytest.raises(WrongState) as refused:
        returns.request_return(s, zuid_finance, zuid_batch, merchant_id=sport, reason="rekening opgeheven")
    assert refused.value.refusal == "return_in_cooperation_run"

    with db.transaction() as s:
        assert runs.mark_run_paid(s, lead(region, 1), run_id, now=at(15)).changed
    with db.transaction() as s:
        assert not runs.mark_run_paid(s, lead(region), run_id, now=at(15)).changed
    assert statuses(region, noord_batch, zuid_batch) == [PAID, PAID]
    assert region.balance(books.bank_key("sv.regio")) == 10500
    assert region.balance(books.bank_key("noord")) == region.balance(books.bank_key("zuid")) == 0
    assert region.verify() == []

    # noord takes back its child's payment at zuid's shop once noord owes the shop enough again.
    region.redeem("mode", "noord", 3500, when=at(16))
    with db.transaction() as s:
        settlement_corrections.correct_redemption(s, region.actor(region.finance["noord"][0]), corrected, reason="dubbel", now=at(17))
    next_batch = approved(region, "noord", at(18).date())
    with db.transaction() as s:
        second = runs.create_run(s, lead(region), "regio", now=at(18))
        assert (second.total_cents, second.count) == (500, 1)
    with db.transaction() as s, pytest.raises(NothingToSettle):
        runs.create_run(s, lead(region), "regio", now=at(18))
    export_run(region, second.id)
    with db.transaction() as s:
        runs.mark_run_paid(s, lead(region), second.id, now=at(18))
    assert statuses(region, next_batch) == [PAID]
    assert region.balance(books.remitted_key("noord", "regio")) == 4500
    assert region.balance(books.bank_key("sv.regio")) == 11000
    assert set(region.partition_totals().values()) == {0}
    assert region.verify() == []


def test_a_line_the_bank_returned_before_the_run_is_left_out(db, region):
    region.redeem("sport", "zuid", 2500, when=at(2))
    region.redeem("mode", "zuid", 4000, when=at(3))
    batch = approved(region, "zuid", at(10).date())
    first, second = (region.actor(u) for u in region.finance["zuid"])
    with db.transaction() as s:
        entry = returns.request_return(s, first, batch, merchant_id=region.merchants["mode"], reason="naam klopt niet")
    with db.transaction() as s:
        returns.confirm_return(s, second, entry.id)
    run_id = make_run(region)
    with db.read() as s:
        assert s.get(CooperationRemittance, batch).amount_cents == 2500
    files = export_run(region, run_id)
    assert [p.amount_cents for p in parse_summary(files.sepa)["payments"]] == [2500]
    assert region.payable("mode", "zuid") == 4000  # waits for zuid's next batch
    assert region.verify() == []


def test_money_moved_to_the_cooperation_without_a_remittance_is_found(db, region):
    region.redeem("sport", "zuid", 2500, when=at(2))
    approved(region, "zuid", at(10).date())
    with db.transaction() as s:
        remitted = ledger.open_account(s, key=books.remitted_key("zuid", "regio"), kind=books.REMITTED, ledger="zuid")
        ledger.transfer(s, kind=books.REMIT, source=ledger.get_account(s, books.clearing_key("zuid")).id,
                        destination=remitted, amount=1000, reference="stilletjes")
    problems = region.verify()
    assert any(p.startswith("cooperation_remittances: transfers to or from a cooperation that no remittance records") for p in problems)
    assert any(p.startswith("settlement_clearing:") for p in problems)


def test_the_command_line_pays_a_run(cli, db, region, tmp_path):
    region.redeem("sport", "zuid", 2500, when=at(2))
    approved(region, "zuid", at(10).date())
    env = {"PASDIENST_TODAY": TODAY.isoformat()}
    made = cli("cooperation", "settle", "regio", "--by", region.finance["noord"][0].email, env=env)
    run_id = made.output.splitlines()[-1]
    assert "25.00 EUR" in made.output
    assert "no approved batch" in cli("cooperation", "settle", "regio", "--by", region.finance["noord"][0].email, env=env).output
    refused = cli("cooperation", "settle", "regio", "--by", region.finance["zuid"][0].email, ok=False, env=env)
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    sepa, allocation = tmp_path / "R.xml", tmp_path / "R.csv"
    assert "is now exported" in cli("cooperation", "export", run_id, "--sepa", str(sepa), "--csv", str(allocation), env=env).output
    assert parse_summary(sepa.read_bytes())["debtor_iban"] == COOP_IBAN
    assert "is paid" in cli("cooperation", "paid", run_id, "--by", region.finance["noord"][1].email, env=env).output
    assert f"R{run_id}" in cli("cooperation", "runs", "regio", env=env).output
    assert "ledger ok" in cli("ledger", "verify", env=env).output

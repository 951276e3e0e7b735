"""The SEPA file, the lines CSV and the statements of a batch."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import update

from pasdienst.municipalities.models import Municipality
from pasdienst.settlement import export as settlement_export
from pasdienst.settlement.errors import WrongState
from pasdienst.settlement.models import SettlementBatch
from pasdienst.settlement.payment_file import PaymentFile
from pasdienst.settlement.sepa import SepaExportError, parse_summary, validate_pain001

from .conftest import TODAY, SettlementWorld, a_month, approve, create, export
from tests.text import spaced

pytestmark = pytest.mark.money


def approved(world: SettlementWorld) -> SettlementBatch:
    a_month(world)
    batch = create(world)
    return approve(world, batch.id).batch


def build(world: SettlementWorld, batch_id: int, *, today: date = TODAY, schema: str = "pain.001.001.09") -> PaymentFile:
    with world.db.read() as s:
        return settlement_export.build_export(s, world.actor(world.finance), batch_id, schema=schema, today=today)


def test_the_payment_file_validates_and_adds_up_to_the_batch(world):
    batch = approved(world)
    files = export(world, batch.id)
    validate_pain001(files.sepa, "pain.001.001.09")
    summary = parse_summary(files.sepa)
    assert summary["schema"] == "pain.001.001.09"
    assert summary["nb_of_txs"] == 3 and summary["ctrl_sum_cents"] == batch.total_cents == 12749
    assert re.fullmatch(rf"KP-\d{{8}}-B{batch.id}", summary["message_id"])
    assert summary["debtor_iban"] == "NL91ABNA0417164300" and summary["debtor_name"] == "Gemeente Testdorp"
    assert summary["execution_date"] == TODAY
    paid = {p.name: (p.amount_cents, p.end_to_end_id, p.iban) for p in summary["payments"]}
    sport = world.merchants["sport"]
    assert paid["Sportclub De Sprint"] == (3250, f"KP-B{batch.id}-M{sport}", "NL91ABNA0417164300")
    assert paid["Mode + Zo"][0] == 7500  # "&" is not in the SEPA character set
    assert {p.remittance for p in summary["payments"]} == {f"Kindpakket afrekening B{batch.id} periode 02-03-2027 t/m 14-03-2027"}
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "exported"


def test_exporting_again_gives_the_identical_file_whatever_changed_since(world):
    batch = approved(world)
    first = export(world, batch.id)
    with world.db.transaction() as s:
        s.execute(update(Municipality).values(iban="NL44RABO0123456789", bic=None))
    later = export(world, batch.id, today=date(2027, 4, 2))
    assert later.sepa == first.sepa and later.csv == first.csv
    assert build(world, batch.id, today=date(2027, 5, 1), schema="pain.001.001.03").sepa == first.sepa


def test_the_schema_version_is_configurable(world):
    batch = approved(world)
    files = build(world, batch.id, schema="pain.001.001.03")
    assert parse_summary(files.sepa)["schema"] == "pain.001.001.03"
    validate_pain001(files.sepa, "pain.001.001.03")


def test_a_draft_is_not_exported(world):
    a_month(world)
    batch = create(world)
    with pytest.raises(WrongState, match="approve it first"):
        build(world, batch.id)


def test_a_municipality_without_an_iban_gets_a_clear_error_and_nothing_changes(world):
    batch = approved(world)
    with world.db.transaction() as s:
        s.execute(update(Municipality).values(iban=None, bic=None))
    with pytest.raises(SepaExportError, match="has no IBAN to pay from; set one with: pasdienst municipality set-iban testdorp"):
        build(world, batch.id)
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "approved"


def test_the_csv_has_a_line_per_merchant(world):
    batch = approved(world)
    text = build(world, batch.id).csv.decode("utf-8-sig")
    rows = [line.split(";") for line in text.strip().splitlines()]
    assert rows[0][:5] == ["merchant_id", "merchant_name", "iban", "count", "total_eur"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["Sportclub De Sprint"][3:5] == ["2", "32,50"]
    assert by_name["Mode & Zo"][4] == "75,00" and len(rows) == 4


def test_a_statement_lists_each_redemption_of_the_merchant(world, tmp_path):
    batch = approved(world)
    with world.db.read() as s:
        written = settlement_export.write_statements(s, world.actor(world.finance), batch.id, tmp_path)
    assert len(written) == 3
    sport = spaced((tmp_path / f"afrekening-B{batch.id}-M{world.merchants['sport']}.html").read_text())
    assert "Sportclub De Sprint" in sport and "02-03-2027 12:00" in sport and "09-03-2027 18:00" in sport
    assert "€ 12,50" in sport and "€ 20,00" in sport and "€ 32,50" in sport and "Kinderpas-tegoed" in sport
    assert len(re.findall(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}\b", sport)) == 2  # receipt numbers
    assert "<style>" in sport  # prints on its own
    assert "Mode &amp; Zo" in (tmp_path / f"afrekening-B{batch.id}-M{world.merchants['mode']}.html").read_text()

"""Approval builds the payment file (in memory, never written) first: a batch
the bank could not be sent is refused while it is still a draft, with no
money moved, so it can be fixed or cancelled instead of getting stuck."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from pasdienst import books, ledger
from pasdienst.municipalities.models import Municipality
from pasdienst.merchants.records import rename_merchant
from pasdienst.merchants.models import Merchant
from pasdienst.settlement import batches
from pasdienst.settlement.models import SettlementBatch
from pasdienst.settlement.sepa import SepaExportError, parse_summary
from pasdienst.web.app import create_app
from tests.factories import login_as

from .conftest import SettlementWorld, a_month, approve, balance, create, export, payable

pytestmark = pytest.mark.money


def _legacy_name(world: SettlementWorld, merchant: str, name: str) -> None:
    """A name stored before the name rule existed (the rule refuses it now)."""
    with world.db.transaction() as s:
        s.execute(update(Merchant).where(Merchant.id == world.merchants[merchant]).values(name=name))


def _nothing_moved(world: SettlementWorld, batch_id: int, payables: dict[str, int]) -> None:
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch_id).status == "draft"
        assert ledger.kind_totals(s, "testdorp").get(books.SETTLE) is None
    assert balance(world, books.clearing_key("testdorp")) == 0
    assert {m: payable(world, m) for m in payables} == payables


@pytest.mark.parametrize("name", ["🎈🎈🎈", "★★★", "•••"])
def test_a_merchant_name_no_bank_can_use_refuses_the_approval_and_the_draft_can_be_cancelled(world, name):
    a_month(world)
    _legacy_name(world, "mode", name)
    batch = create(world)
    payables = {m: payable(world, m) for m in world.merchants}
    with pytest.raises(SepaExportError) as refused:
        approve(world, batch.id)
    message = refused.value.message
    assert message.startswith(f"cannot approve batch {batch.id}: its payment file could not be built")
    assert f"merchant {name!r}" in message and "name has no characters a bank accepts" in message
    assert "pasdienst merchant rename" in message and "cancel the batch" in message
    _nothing_moved(world, batch.id, payables)

    with world.db.transaction() as s:
        assert batches.cancel_batch(s, world.actor(world.finance), batch.id).changed
    assert world.verify() == []


def test_after_a_rename_the_same_draft_is_approved_and_exported(world):
    a_month(world)
    _legacy_name(world, "mode", "★★★")
    batch = create(world)
    with pytest.raises(SepaExportError):
        approve(world, batch.id)
    with world.db.transaction() as s:
        rename_merchant(s, world.merchants["mode"], "Mode ★ Zo")
    assert approve(world, batch.id).changed
    names = {p.name for p in parse_summary(export(world, batch.id).sepa)["payments"]}
    assert "Mode Zo" in names
    assert world.verify() == []


def test_a_municipality_without_an_iban_refuses_the_approval_not_the_export(world):
    a_month(world)
    batch = create(world)
    payables = {m: payable(world, m) for m in world.merchants}
    with world.db.transaction() as s:
        s.execute(update(Municipality).values(iban=None, bic=None))
    with pytest.raises(SepaExportError, match="has no IBAN to pay from.*pasdienst municipality set-iban testdorp"):
        approve(world, batch.id)
    _nothing_moved(world, batch.id, payables)
    with world.db.transaction() as s:
        s.execute(update(Municipality).values(iban="NL91ABNA0417164300"))
    assert approve(world, batch.id).changed
    assert parse_summary(export(world, batch.id).sepa)["debtor_iban"] == "NL91ABNA0417164300"


def test_the_command_line_says_why_in_one_line(cli, world):
    a_month(world)
    _legacy_name(world, "sport", "🎈🎈🎈")
    batch = create(world)
    result = cli("settlement", "approve", str(batch.id), "--by", world.finance2.email, ok=False,
                 env={"PASDIENST_TODAY": "2027-03-15"})
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"error: cannot approve batch {batch.id}: its payment file could not be built")


def test_the_finance_page_says_why_in_dutch_and_the_batch_stays_a_draft(world):
    a_month(world)
    _legacy_name(world, "school", "•••")
    batch = create(world)
    app = create_app(world.settings, db=world.db)
    app.config.update(TESTING=True)
    client = app.test_client()
    login_as(client, world.finance2)
    from .test_finance_pages import post

    response = post(client, f"/finance/afrekeningen/{batch.id}/goedkeuren")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Goedkeuren kan niet: de bank zou het betaalbestand van afrekening B{batch.id} weigeren" in page
    assert "bevat geen letters of cijfers die een bank kan gebruiken" in page and "Er is geen geld verschoven" in page
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "draft"

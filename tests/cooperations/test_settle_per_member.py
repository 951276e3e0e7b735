"""Payout by the members: each settles its own children's redemptions, at any merchant of the cooperation,
from its own account; the merchants see a payment from each member."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pasdienst import books
from pasdienst.municipalities.models import Municipality
from pasdienst.redeem import redemptions
from pasdienst.reports.usage import usage_report
from pasdienst.settlement import batches, corrections as settlement_corrections, export as settlement_export
from pasdienst.settlement.errors import CorrectionRefused
from pasdienst.settlement.models import SettlementLine
from pasdienst.settlement.sepa import parse_summary
from tests.cooperations.conftest import TODAY, at

pytestmark = pytest.mark.money


def settle(region, member: str, *, until=TODAY) -> int:
    first, second = region.finance[member]
    with region.db.transaction() as s:
        batch = batches.create_batch(s, region.actor(first), member, until=until, today=until)
    with region.db.transaction() as s:
        batches.approve_batch(s, region.actor(second), batch.id)
    return batch.id


def export_and_pay(region, member: str, batch_id: int) -> bytes:
    first, _ = region.finance[member]
    with region.db.read() as s:
        files = settlement_export.build_export(s, region.actor(first), batch_id, schema=region.settings.sepa_schema, today=TODAY)
    with region.db.transaction() as s:
        settlement_export.record_export(s, region.actor(first), files)
    with region.db.transaction() as s:
        batches.mark_paid(s, region.actor(first), batch_id)
    return files.sepa


def lines(region, batch_id: int) -> dict[int, int]:
    with region.db.read() as s:
        return {
            line.merchant_id: line.total_cents
            for line in s.execute(select(SettlementLine).where(SettlementLine.batch_id == batch_id)).scalars()
        }


def test_a_full_cycle_across_members_with_a_void_and_a_correction(db, region):
    sport, mode = region.merchants["sport"], region.merchants["mode"]
    # Redeem across members (and at home), void one of them on the day.
    region.redeem("sport", "zuid", 2500, when=at(2))
    region.redeem("sport", "noord", 1000, when=at(3))
    corrected = region.redeem("mode", "noord", 3000, when=at(4))
    region.redeem("mode", "zuid", 4000, when=at(5))
    voided = region.redeem("sport", "zuid", 999, when=at(6, 10))
    with db.transaction() as s:
        redemptions.void(s, region.till("sport"), voided, today=at(6).date(), now=at(6, 11))

    # Each member settles what its own children spent, wherever.
    noord_batch, zuid_batch = settle(region, "noord", until=at(10).date()), settle(region, "zuid", until=at(10).date())
    assert lines(region, noord_batch) == {sport: 1000, mode: 3000}
    assert lines(region, zuid_batch) == {sport: 2500, mode: 4000}
    noord_file, zuid_file = export_and_pay(region, "noord", noord_batch), export_and_pay(region, "zuid", zuid_batch)
    # One file per member, from its own account, paying the merchants of both.
    with db.read() as s:
        ibans = dict(s.execute(select(Municipality.code, Municipality.iban)).all())
    for code, xml in (("noord", noord_file), ("zuid", zuid_file)):
        summary = parse_summary(xml)
        assert summary["debtor_iban"] == ibans[code]
    assert parse_summary(noord_file)["ctrl_sum_cents"] == 4000 and parse_summary(zuid_file)["ctrl_sum_cents"] == 6500
    assert region.balance(books.bank_key("noord")) == 4000 and region.balance(books.bank_key("zuid")) == 6500

    # noord takes back its child's payment at zuid's shop: the shop must be owed that much by noord first.
    noord_finance = region.actor(region.finance["noord"][0])
    with db.transaction() as s, pytest.raises(CorrectionRefused):
        settlement_corrections.correct_redemption(s, noord_finance, corrected, reason="dubbel afgerekend", now=at(11))
    region.redeem("mode", "noord", 3500, when=at(11))
    region.redeem("mode", "zuid", 8000, when=at(11))  # zuid's debt to the shop does not count for noord
    with db.transaction() as s:
        settlement_corrections.correct_redemption(s, noord_finance, corrected, reason="dubbel afgerekend", now=at(12))
    assert region.voucher_balance("noord") == 15000 - 1000 - 3500
    assert region.payable("mode", "noord") == 500
    next_batch = settle(region, "noord", until=at(13).date())
    assert lines(region, next_batch) == {mode: 500}
    export_and_pay(region, "noord", next_batch)
    assert region.balance(books.bank_key("noord")) == 4500

    # Each member's usage report stays its own: noord's child used the pass, zuid's spent its money.
    with db.read() as s:
        noord_usage = usage_report(s, "noord", 2027)
        zuid_usage = usage_report(s, "zuid", 2027)
    assert noord_usage.money.spent_cents == 1000 + 3500 and zuid_usage.money.spent_cents == 2500 + 4000 + 8000
    assert noord_usage.children_with_redemption == zuid_usage.children_with_redemption == 1
    assert set(region.partition_totals().values()) == {0}
    assert region.verify() == []


def test_a_correction_waits_for_what_this_member_owes(db, region):
    """The merchant's payable in one member's partition is that member's debt alone."""
    made = region.redeem("sport", "zuid", 2000, when=at(2))
    batch = settle(region, "zuid", until=at(10).date())
    region.redeem("sport", "noord", 5000, when=at(11))  # noord's debt to its own club
    with db.transaction() as s, pytest.raises(CorrectionRefused):
        settlement_corrections.correct_redemption(s, region.actor(region.finance["zuid"][0]), made, reason="fout bedrag", now=at(12))
    assert lines(region, batch) == {region.merchants["sport"]: 2000}
    assert region.verify() == []

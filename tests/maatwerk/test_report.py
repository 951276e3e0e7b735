"""Awards per team and per fund: on the usage report (exact, and with small counts hidden when published)."""
from __future__ import annotations

import pytest

from pasdienst.reports.usage import SUPPRESSED, usage_report, usage_table

pytestmark = pytest.mark.money


def _report(maat):
    with maat.db.read() as s:
        return usage_report(s, "testdorp", 2027)


def test_each_team_and_fund_shows_its_awards_the_amount_they_hold_and_what_was_spent(maat):
    kept = maat.team_award("225,00")
    maat.spend(kept.award.id, 5000)
    gone = maat.team_award("40,00", merchant=None)
    maat.spend(gone.award.id, 1000, merchant="sport")
    maat.withdraw(gone.award.id, maat.caseworker)  # holds on to the 10,00 spent
    funded = maat.fund_award("90,00")
    maat.spend(funded.award.id, 9000)
    rows = _report(maat).figures()["maatwerk"]
    assert rows == [
        {"kind": "team", "name": "Gebiedsteam Noord", "awards": 2, "awarded_cents": 23500, "spent_cents": 6000},
        {"kind": "fund", "name": "Jeugdfonds Sport & Cultuur", "awards": 1, "awarded_cents": 9000, "spent_cents": 9000},
    ]
    header, table = usage_table(_report(maat).figures(), "maatwerk")
    assert header == ["giver_kind", "giver", "awards", "awarded_eur", "spent_eur"]
    assert table[0] == ["team", "Gebiedsteam Noord", 2, "235,00", "60,00"]


def test_the_publication_version_hides_fewer_than_five_awards(maat):
    for _ in range(5):
        maat.team_award("10,00", merchant=None)
    maat.fund_award("10,00")
    published = {row["name"]: row for row in _report(maat).published()["maatwerk"]}
    assert published["Gebiedsteam Noord"]["awards"] == 5
    assert published["Jeugdfonds Sport & Cultuur"]["awards"] == SUPPRESSED
    assert published["Jeugdfonds Sport & Cultuur"]["awarded_cents"] == 1000  # money is never hidden


def test_a_withdrawn_fund_award_still_adds_up_in_its_category(maat):
    funded = maat.fund_award("90,00")
    maat.spend(funded.award.id, 2500)
    maat.withdraw(funded.award.id, maat.fund_user)
    for row in _report(maat).figures()["by_category"]:
        assert row["awarded_cents"] == row["spent_cents"] + row["expired_cents"] + row["outstanding_cents"], row

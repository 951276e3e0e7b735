"""The demo shows maatwerk: an award by the gebiedsteam and one by the fund, and the books still close."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from pasdienst.demo import load_demo
from pasdienst.ledger import verify
from pasdienst.maatwerk.models import Award
from pasdienst.plugins import load_verify_checks


def test_the_demo_has_an_award_by_a_team_and_one_by_a_fund(db, settings):
    load_verify_checks()
    load_demo(db, settings, date(2027, 3, 1))
    with db.read() as s:
        awards = s.execute(select(Award)).scalars().all()
        assert sorted((a.team_id is not None, a.fund_id is not None, a.amount_cents) for a in awards) == [
            (False, True, 9000), (True, False, 22500)]
        assert all(a.merchant_id is not None for a in awards)
        assert verify(s).ok, verify(s).problems

"""The demo shows a municipality in full swing: payments over the past
months at several shops, last month settled and paid, this month waiting, a
case worker's award, a blocked and a replaced pass; and loading it again
adds nothing."""
from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from pasdienst import ledger
from pasdienst.access.models import AuditEvent, User
from pasdienst.access.policy import CLI_ACTOR
from pasdienst.admin.models import CaseworkerAward
from pasdienst.clock import AMSTERDAM
from pasdienst.demo import load_demo
from pasdienst.ledger import verify
from pasdienst.redeem.models import Redemption
from pasdienst.settlement.models import SettlementBatch
from pasdienst.settlement.queries import waiting_to_settle
from pasdienst.wallet.models import ACTIVE, BLOCKED, REPLACED, Child, ChildPass, Voucher

pytestmark = pytest.mark.money

DAY = date(2027, 3, 10)


def _counts(db) -> dict[str, int]:
    with db.read() as s:
        return {
            "redemptions": s.execute(select(func.count()).select_from(Redemption)).scalar_one(),
            "batches": s.execute(select(func.count()).select_from(SettlementBatch)).scalar_one(),
            "passes": s.execute(select(func.count()).select_from(ChildPass)).scalar_one(),
            "audit": s.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        }


def test_the_demo_has_paid_at_several_shops_over_the_past_months_and_a_third_of_children_used_nothing(db, settings):
    load_demo(db, settings, DAY)
    with db.read() as s:
        paid = s.execute(select(Redemption.created_at, Redemption.merchant_id, Redemption.pass_id)).all()
        months = {moment.astimezone(AMSTERDAM).strftime("%Y-%m") for moment, _m, _p in paid}
        assert months == {"2027-01", "2027-02", "2027-03"}
        assert max(moment for moment, _m, _p in paid).astimezone(AMSTERDAM).date() < DAY
        assert len({merchant for _t, merchant, _p in paid}) >= 3
        holders = s.execute(select(func.count(func.distinct(ChildPass.child_id)))).scalar_one()
        users = len({child_pass for _t, _m, child_pass in paid})
        assert 0.4 * holders <= users <= 0.9 * holders  # some children used nothing, as in real life
    verify_clean(db)


def test_last_month_is_settled_by_two_finance_users_and_paid_and_this_month_waits(db, settings):
    load_demo(db, settings, DAY)
    with db.read() as s:
        batch = s.execute(select(SettlementBatch)).scalar_one()
        assert (batch.status, batch.until) == ("paid", date(2027, 3, 1)) and batch.total_cents > 0
        maker, checker = (s.get(User, batch.created_by_user_id), s.get(User, batch.approved_by_user_id))
        assert {maker.role, checker.role} == {"finance"} and maker.id != checker.id
        settled = s.execute(select(func.coalesce(func.sum(Redemption.amount_cents), 0))
                            .where(Redemption.created_at < batch_start(batch.until))).scalar_one()
        assert batch.total_cents == settled
        waiting = waiting_to_settle(s, CLI_ACTOR, "demodorp", until=DAY)
        assert waiting.count > 0  # finance can make today's batch


def test_a_caseworker_awarded_one_pass_and_one_pass_is_blocked_and_one_replaced(db, settings):
    report = load_demo(db, settings, DAY)
    with db.read() as s:
        award = s.execute(select(CaseworkerAward)).scalar_one()
        assert s.get(User, award.user_id).role == "caseworker"
        assert s.get(Child, award.child_id).child_ref == "VB-0101"
        statuses = s.execute(select(ChildPass.status, func.count()).group_by(ChildPass.status)).all()
        assert dict(statuses)[BLOCKED] == 1 and dict(statuses)[REPLACED] == 1
        actions = set(s.execute(select(AuditEvent.action)).scalars())
        assert {"pass.block", "pass.reissue", "child.register", "pass.issue"} <= actions
        # The printed passes still work, with money left for a newcomer to spend at the sports club.
        passes = {p.pass_number: p for p in s.execute(select(ChildPass)).scalars()}
        printed = re.findall(r"^pass (KP-\d{4}-\d{6}):", "\n".join(report.lines), re.M)
        assert len(printed) == 3
        for number in printed:
            child_pass = passes[number]
            assert child_pass.status == ACTIVE
            sport = s.execute(select(Voucher).where(Voucher.pass_id == child_pass.id, Voucher.kind == "budget",
                                                    Voucher.category == "sport_culture")).scalar_one()
            assert ledger.balance(s, sport.account_id) >= 1250


def test_loading_the_demo_again_adds_nothing_and_prints_the_same(db, settings):
    first = load_demo(db, settings, DAY)
    before = _counts(db)
    second = load_demo(db, settings, DAY)
    assert second.lines == first.lines
    assert _counts(db) == before
    verify_clean(db)


def batch_start(until: date) -> datetime:
    return datetime.combine(until, time.min, AMSTERDAM)


def verify_clean(db) -> None:
    with db.read() as s:
        report = verify(s)
        assert report.ok, report

"""A fund holds its own money, its users award bound vouchers from it, and the club is paid like for any redemption."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from pasdienst import books, ledger
from pasdienst.access.errors import Forbidden
from pasdienst.clock import AMSTERDAM
from pasdienst.access.models import AuditEvent, User
from pasdienst.errors import Conflict, ValidationFailed
from pasdienst.ledger import verify
from pasdienst.maatwerk import funds, services
from pasdienst.maatwerk.errors import BudgetShort
from pasdienst.maatwerk.models import Fund, FundMember
from pasdienst.municipalities.services import budget_figures
from pasdienst.plugins import load_verify_checks
from pasdienst.redeem import redemptions
from pasdienst.wallet.lifecycle import reissue_pass
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.yearend import close_year
from tests.factories import make_user
from tests.settlement.conftest import approve, create, lines

pytestmark = pytest.mark.money


def _municipal_fund(maat) -> int:
    with maat.db.read() as s:
        return ledger.balance(s, ledger.get_account(s, books.fund_key("testdorp")).id)


def test_a_top_up_is_a_transfer_that_says_whose_money_it_is(maat):
    assert maat.fund_balance() == 50000
    with maat.db.read() as s:
        fund = s.get(Fund, maat.fund)
        transfer = s.execute(
            select(ledger.Transfer).join(ledger.Posting, ledger.Posting.transfer_id == ledger.Transfer.id)
            .where(ledger.Posting.account_id == fund.account_id)
        ).scalars().one()
        assert transfer.kind == books.FUND_TOPUP
        assert transfer.reference == "Jeugdfonds Sport & Cultuur: overboeking 1 maart"
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "fund.topup")).scalars().one()
        assert event.after["amount_cents"] == 50000


def test_a_funds_award_comes_from_its_own_money_not_the_municipalitys(maat):
    municipal_before = _municipal_fund(maat)
    done = maat.fund_award("90,00")
    assert maat.fund_balance() == 50000 - 9000
    assert _municipal_fund(maat) == municipal_before
    assert done.award.fund_id == maat.fund and done.award.team_id is None
    with maat.db.read() as s:
        assert verify(s).ok, verify(s).problems


def test_a_fund_cannot_award_more_than_it_holds(maat):
    maat.fund_award("450,00")
    with pytest.raises(BudgetShort) as refused:
        maat.fund_award("50,01")
    assert refused.value.refusal == "maatwerk_fund_org_short"
    assert refused.value.details["left_cents"] == 5000


def test_the_club_is_paid_for_a_fund_award_by_the_ordinary_settlement(maat, world):
    done = maat.fund_award("90,00")
    maat.spend(done.award.id, 9000, day=16)
    batch = create(world, until=date(2027, 3, 17), today=date(2027, 3, 17))
    assert lines(world, batch.id)[world.merchants["sport"]] == (1, 9000)
    approve(world, batch.id)
    with maat.db.read() as s:
        assert verify(s).ok, verify(s).problems


def test_withdrawing_a_fund_award_returns_the_rest_to_the_fund(maat):
    done = maat.fund_award("90,00")
    maat.spend(done.award.id, 2500)
    withdrawn = maat.withdraw(done.award.id, maat.fund_user, reason="moved")
    assert withdrawn.returned_cents == 6500 and withdrawn.withdraw_reason == "moved"
    assert maat.fund_balance() == 50000 - 2500
    with maat.db.read() as s:
        assert services.used_cents(s, year=2027, fund_id=maat.fund) == 2500
        assert verify(s).ok, verify(s).problems


def test_only_the_funds_own_users_withdraw_its_awards(maat):
    done = maat.fund_award("10,00")
    admin = maat.world.actor(maat.world.admin)
    other_user = make_user(maat.db, "fund", email="leergeld@testdorp.example")
    with maat.db.transaction() as s:
        other = funds.create_fund(s, admin, "Stichting Leergeld")
        s.add(FundMember(user_id=other_user.id, fund_id=other.id))
    for who in (other_user, maat.world.admin, maat.caseworker):
        with pytest.raises(Forbidden):
            maat.withdraw(done.award.id, who)


def test_a_fund_user_the_admin_has_not_linked_is_refused(maat):
    loose = make_user(maat.db, "fund", email="los@testdorp.example")
    with pytest.raises(Conflict) as refused:
        maat.fund_award("10,00", by=loose)
    assert refused.value.refusal == "maatwerk_no_fund"


def test_a_caseworker_cannot_award_from_a_fund_nor_a_fund_from_a_team(maat):
    with pytest.raises(Forbidden), maat.db.transaction() as s:
        services.award_by_fund(s, maat.actor(maat.caseworker), maat.request("10,00"), today=date(2027, 3, 15))
    with pytest.raises(Forbidden), maat.db.transaction() as s:
        services.award_by_team(s, maat.actor(maat.fund_user), maat.request("10,00"), today=date(2027, 3, 15))


def test_the_admin_makes_a_fund_login_that_acts_for_that_fund(maat):
    admin = maat.world.actor(maat.world.admin)
    with maat.db.transaction() as s:
        user, password = funds.add_fund_user(s, admin, maat.fund, "Medewerker@Jeugdfonds.nl")
        assert (user.role, user.email, user.must_change_password) == ("fund", "medewerker@jeugdfonds.nl", True)
        assert len(password) >= 12
    with maat.db.read() as s:
        linked = s.execute(select(FundMember.fund_id).join(User, User.id == FundMember.user_id)
                           .where(User.email == "medewerker@jeugdfonds.nl")).scalar_one()
        assert linked == maat.fund
    with pytest.raises(Conflict) as twice, maat.db.transaction() as s:
        funds.add_fund_user(s, admin, maat.fund, "medewerker@jeugdfonds.nl")
    assert twice.value.refusal == "maatwerk_user_exists"


@pytest.mark.parametrize(("amount", "reference", "refusal"), [
    ("0", "x", "maatwerk_amount_invalid"),
    ("twintig", "x", "maatwerk_amount_invalid"),
    ("20,00", "  ", "maatwerk_reference_missing"),
    ("20,00", "x" * 201, "maatwerk_reference_too_long"),
])
def test_a_wrong_top_up_is_refused_with_its_code(maat, amount, reference, refusal):
    with pytest.raises(ValidationFailed) as refused, maat.db.transaction() as s:
        funds.topup_fund(s, maat.world.actor(maat.world.admin), maat.fund, amount, reference=reference)
    assert refused.value.refusal == refusal
    assert maat.fund_balance() == 50000


def test_ledger_verify_finds_a_funds_money_moved_by_another_kind_of_transfer(maat):
    load_verify_checks()
    with maat.db.transaction() as s:
        fund = s.get(Fund, maat.fund)
        municipal = ledger.get_account(s, books.fund_key("testdorp"))
        ledger.transfer(s, kind=books.TOPUP, source=fund.account_id, destination=municipal.id, amount=100,
                        reference="a fund's money into the municipality's fund")
    with maat.db.read() as s:
        assert [p.check for p in verify(s).problems] == ["maatwerk_fund_money"]


def test_at_year_end_a_funds_unspent_award_goes_back_to_the_fund_not_the_municipality(maat, world):
    done = maat.fund_award("90,00")
    maat.spend(done.award.id, 2500)
    municipal_before = _municipal_fund(maat)
    with maat.db.transaction() as s:
        closed = close_year(s, "testdorp", 2027, today=date(2028, 1, 2))
    assert maat.fund_balance() == 50000 - 2500  # the 65,00 left came back to the fund
    assert _municipal_fund(maat) == municipal_before + closed.returned_cents - 6500
    with maat.db.read() as s:
        assert budget_figures(s, "testdorp").returned == closed.returned_cents - 6500
        assert verify(s).ok, verify(s).problems


def test_a_reissued_pass_carries_a_fund_award_and_its_way_back_to_the_fund(maat, world):
    done = maat.fund_award("90,00")
    with maat.db.read() as s:
        pass_id = s.get(Voucher, done.award.voucher_id).pass_id
    with maat.db.transaction() as s:
        new = reissue_pass(s, str(pass_id), settings=world.settings, today=date(2027, 3, 15))
        successor = s.execute(select(Voucher).where(Voucher.pass_id == new.id, Voucher.code == done.award.voucher_code)).scalar_one()
        assert successor.return_account_id == s.get(Fund, maat.fund).account_id
    with maat.db.transaction() as s:
        close_year(s, "testdorp", 2027, today=date(2028, 1, 2))
    assert maat.fund_balance() == 50000
    with maat.db.read() as s:
        assert verify(s).ok, verify(s).problems


def test_a_void_once_the_year_is_closed_returns_a_fund_awards_money_to_the_fund(maat, world):
    done = maat.fund_award("90,00")
    last_day = datetime(2027, 12, 31, 22, 0, tzinfo=AMSTERDAM)
    payload, _ = world.passes["T-1"]
    with maat.db.transaction() as s:
        made = redemptions.redeem(s, world.till("sport"), code=payload, voucher_id=done.award.voucher_id,
                                  amount_cents=1250, idempotency_key="late", settings=world.settings,
                                  today=last_day.date(), now=last_day)
    with maat.db.transaction() as s:
        close_year(s, "testdorp", 2027, today=date(2028, 1, 2))
    assert maat.fund_balance() == 50000 - 1250
    municipal = _municipal_fund(maat)
    with maat.db.transaction() as s:  # the till's day is still the last of the year
        redemptions.void(s, world.till("sport"), made.id, today=last_day.date(), now=last_day.replace(hour=23))
    assert maat.fund_balance() == 50000
    assert _municipal_fund(maat) == municipal
    with maat.db.read() as s:
        assert verify(s).ok, verify(s).problems

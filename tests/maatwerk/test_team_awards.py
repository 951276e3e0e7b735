"""A case worker of a gebiedsteam awards an amount for a purpose, from the fund, within the team's yearly budget."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from pasdienst import books, ledger
from pasdienst.access.models import AuditEvent
from pasdienst.errors import Conflict, NotFound, PasdienstError, ValidationFailed
from pasdienst.ledger import verify
from pasdienst.maatwerk import services
from pasdienst.maatwerk.errors import BudgetShort
from pasdienst.maatwerk.models import Award
from pasdienst.municipalities.services import budget_figures
from pasdienst.redeem import redemptions
from pasdienst.redeem.errors import NotAcceptedHere
from pasdienst.access.errors import Forbidden
from pasdienst.wallet.lifecycle import block_pass
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.yearend import close_year
from tests.factories import make_user

from .conftest import TODAY, at, set_budget

pytestmark = pytest.mark.money


def _fund(maat) -> int:
    with maat.db.read() as s:
        return ledger.balance(s, ledger.get_account(s, books.fund_key("testdorp")).id)


def test_an_award_is_a_bound_budget_voucher_on_the_childs_pass_paid_from_the_fund(maat):
    fund_before = _fund(maat)
    done = maat.team_award("225,00")
    assert (done.child_ref, done.merchant_name, done.award.amount_cents) == ("T-1", "Sportclub De Sprint", 22500)
    assert done.award.number.startswith("M-")
    assert _fund(maat) == fund_before - 22500
    with maat.db.read() as s:
        voucher = s.get(Voucher, done.award.voucher_id)
        assert (voucher.kind, voucher.category, voucher.code, voucher.initial_cents) == (
            "budget", "sport_culture", done.award.voucher_code, 22500)
        # An issue like any pass's money: the budget page counts it as reserved.
        assert budget_figures(s, "testdorp").reserved == 10000_00 - fund_before + 22500
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "maatwerk.award")).scalars().one()
        assert event.after["amount_cents"] == 22500 and event.after["team"] == "Gebiedsteam Noord"
        assert event.actor_email == "consulent@testdorp.example"
        assert verify(s).ok, verify(s).problems


def test_a_bound_award_is_taken_only_by_its_merchant(maat, world):
    done = maat.team_award("50,00", merchant="sport")
    maat.spend(done.award.id, 5000, merchant="sport")
    other = maat.team_award("30,00", category="school", merchant="school")
    with pytest.raises(NotAcceptedHere):
        maat.spend(other.award.id, 1000, merchant="sport")  # a sports club does not take the school's award
    assert maat.balance_of(done.award.id) == 0


def test_the_teams_budget_caps_what_it_awards_in_a_year(maat):
    set_budget(maat, "300,00")
    maat.team_award("200,00")
    with pytest.raises(BudgetShort) as refused:
        maat.team_award("100,01")
    assert refused.value.refusal == "maatwerk_team_budget_short"
    assert refused.value.details["left_cents"] == 10000
    maat.team_award("100,00")  # exactly what is left


def test_two_caseworkers_of_one_team_cannot_both_take_the_last_of_its_budget(maat):
    set_budget(maat, "300,00")
    other = make_user(maat.db, "caseworker", email="tweede@testdorp.example")
    with maat.db.transaction() as s:
        services.add_team_member(s, maat.world.actor(maat.world.admin), maat.team, other.id)
    actors = [maat.actor(maat.caseworker), maat.actor(other)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(actor) -> None:
        start.wait()
        try:
            with maat.db.transaction() as s:
                services.award_by_team(s, actor, maat.request("200,00", merchant=None), today=TODAY)
            outcomes.append("awarded")
        except BudgetShort:
            outcomes.append("short")

    threads = [threading.Thread(target=submit, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["awarded", "short"]
    with maat.db.read() as s:
        assert s.execute(select(func.count()).select_from(Award)).scalar_one() == 1
        assert services.used_cents(s, year=2027, team_id=maat.team) == 20000
        assert verify(s).ok


def test_the_same_form_sent_twice_awards_once(maat):
    first = maat.team_award("40,00", key="form-1")
    again = maat.team_award("40,00", key="form-1")
    assert again.replayed and again.award.id == first.award.id
    with maat.db.read() as s:
        assert s.execute(select(func.count()).select_from(Award)).scalar_one() == 1


def test_withdrawing_returns_only_the_unspent_rest_to_the_fund(maat):
    done = maat.team_award("225,00")
    maat.spend(done.award.id, 7500)
    fund_before = _fund(maat)
    withdrawn = maat.withdraw(done.award.id, maat.caseworker)
    assert withdrawn.returned_cents == 15000 and withdrawn.withdrawn_at is not None
    assert _fund(maat) == fund_before + 15000
    assert maat.balance_of(done.award.id) == 0
    with maat.db.read() as s:
        # The award stays, and what it holds on to of the team's budget is what was spent.
        assert services.used_cents(s, year=2027, team_id=maat.team) == 7500
        figures = budget_figures(s, "testdorp")
        assert figures.returned == 15000
        assert verify(s).ok, verify(s).problems
    with pytest.raises(Conflict) as again:
        maat.withdraw(done.award.id, maat.world.admin)
    assert again.value.refusal == "maatwerk_withdrawn_already"


def test_a_withdrawal_keeps_why_on_the_award_and_in_the_audit_log(maat):
    done = maat.team_award("225,00")
    withdrawn = maat.withdraw(done.award.id, maat.caseworker, reason="other", note="  dubbel   ingevoerd ")
    assert (withdrawn.withdraw_reason, withdrawn.withdraw_note) == ("other", "dubbel ingevoerd")
    with maat.db.read() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "maatwerk.withdraw")).scalar_one()
        assert event.after["withdraw_reason"] == "other" and event.after["note"] == "dubbel ingevoerd"


@pytest.mark.parametrize(("reason", "note", "refusal"), [
    ("", "", "maatwerk_withdraw_reason_missing"),
    ("   ", "te veel", "maatwerk_withdraw_reason_missing"),
    ("cash", "", "maatwerk_withdraw_reason_unknown"),
    ("membership", "", "maatwerk_withdraw_reason_unknown"),  # an award's reason, not a withdrawal's
    ("other", "  ", "maatwerk_withdraw_note_required"),
    ("moved", "x" * 301, "maatwerk_note_too_long"),
])
def test_a_withdrawal_without_a_usable_reason_is_refused_by_code_and_moves_nothing(maat, reason, note, refusal):
    done = maat.team_award("225,00")
    maat.spend(done.award.id, 2500)
    fund_before = _fund(maat)
    with pytest.raises(ValidationFailed) as refused:
        maat.withdraw(done.award.id, maat.caseworker, reason=reason, note=note)
    assert refused.value.refusal == refusal
    assert _fund(maat) == fund_before and maat.balance_of(done.award.id) == 20000
    with maat.db.read() as s:
        award = s.get(Award, done.award.id)
        assert (award.withdrawn_at, award.returned_cents, award.withdraw_reason) == (None, None, None)
        assert s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "maatwerk.withdraw")).scalar_one() == 0
        assert verify(s).ok, verify(s).problems


def test_only_the_awards_team_or_the_admin_withdraws_it(maat):
    done = maat.team_award("20,00")
    stranger = make_user(maat.db, "caseworker", email="elders@testdorp.example")
    with pytest.raises(Forbidden):
        maat.withdraw(done.award.id, stranger)
    with pytest.raises(Forbidden):
        maat.withdraw(done.award.id, maat.fund_user)
    assert maat.withdraw(done.award.id, maat.world.admin).returned_cents == 2000


def test_an_award_of_another_municipality_is_not_found(maat):
    done = maat.team_award("20,00")
    elsewhere = make_user(maat.db, "admin", municipality="anderdorp")
    with pytest.raises(NotFound):
        maat.withdraw(done.award.id, elsewhere)


@pytest.mark.parametrize(("change", "refusal"), [
    ({"category": "gambling"}, "maatwerk_category_unknown"),
    ({"amount": "0"}, "maatwerk_amount_invalid"),
    ({"amount": "-5"}, "maatwerk_amount_invalid"),
    ({"amount": "abc"}, "maatwerk_amount_invalid"),
    ({"amount": "10000,01"}, "maatwerk_amount_too_large"),
    ({"reason": "cash"}, "maatwerk_reason_unknown"),
    ({"reason": "other"}, "maatwerk_note_required"),
    ({"note": "x" * 301}, "maatwerk_note_too_long"),
    ({"category": "school"}, "maatwerk_merchant_category"),  # the sports club takes no school award
    ({"child": ""}, "maatwerk_child_missing"),
    ({"child": "T-404"}, "maatwerk_child_unknown"),
])
def test_a_wrong_request_is_refused_with_its_code_and_moves_nothing(maat, change, refusal):
    fund_before = _fund(maat)
    fields = dict(change)  # the parameters are shared by both databases' runs
    amount = fields.pop("amount", "25,00")
    with pytest.raises(ValidationFailed) as refused:
        maat.team_award(amount, **fields)
    assert refused.value.refusal == refusal
    assert _fund(maat) == fund_before


def test_a_caseworker_without_a_team_or_budget_is_refused(maat):
    loner = make_user(maat.db, "caseworker", email="alleen@testdorp.example")
    with pytest.raises(Conflict) as no_team:
        maat.team_award("10,00", by=loner)
    assert no_team.value.refusal == "maatwerk_no_team"
    with maat.db.transaction() as s:
        admin = maat.world.actor(maat.world.admin)
        team = services.create_team(s, admin, "Gebiedsteam Zuid")
        services.add_team_member(s, admin, team.id, loner.id)
    with pytest.raises(Conflict) as no_budget:
        maat.team_award("10,00", by=loner)
    assert no_budget.value.refusal == "maatwerk_no_budget"


def test_a_child_whose_pass_is_blocked_gets_no_award(maat):
    voucher_id = next(iter(maat.world.passes["T-1"][1].values()))
    with maat.db.transaction() as s:
        block_pass(s, str(s.get(Voucher, voucher_id).pass_id), reason="kwijt")
    with pytest.raises(Conflict) as refused:
        maat.team_award("10,00")
    assert refused.value.refusal == "maatwerk_no_pass"


def test_the_municipalitys_fund_running_short_refuses_the_award(maat):
    set_budget(maat, "20000,00")
    with pytest.raises(BudgetShort) as refused:
        maat.team_award("9999,00", merchant=None)
    assert refused.value.refusal == "maatwerk_fund_short"


def test_a_caseworker_moves_between_teams_and_only_caseworkers_join_one(maat):
    admin = maat.world.actor(maat.world.admin)
    with maat.db.transaction() as s:
        other = services.create_team(s, admin, "Gebiedsteam Oost")
        services.add_team_member(s, admin, other.id, maat.caseworker.id)
        assert services.team_of(s, maat.actor(maat.caseworker)).name == "Gebiedsteam Oost"
    with pytest.raises(ValidationFailed) as refused, maat.db.transaction() as s:
        services.add_team_member(s, admin, other.id, maat.world.finance.id)
    assert refused.value.refusal == "maatwerk_not_caseworker"
    with pytest.raises(Conflict) as twice, maat.db.transaction() as s:
        services.create_team(s, admin, "  Gebiedsteam   Oost ")
    assert twice.value.refusal == "maatwerk_team_exists"


def test_money_a_void_gives_back_after_withdrawal_cannot_be_spent_again_and_returns_at_year_end(maat, world):
    done = maat.team_award("225,00")
    paid = maat.spend(done.award.id, 5000, day=16)
    withdrawn = maat.withdraw(done.award.id, maat.caseworker, today=date(2027, 3, 16))
    assert withdrawn.returned_cents == 17500
    with maat.db.transaction() as s:  # the club voids its payment the same day
        redemptions.void(s, world.till("sport"), paid, today=date(2027, 3, 16), now=at(16, 13))
    assert maat.balance_of(done.award.id) == 5000
    with pytest.raises(PasdienstError) as refused:
        maat.spend(done.award.id, 1000, day=16)  # the withdrawn voucher no longer counts at the till
    assert refused.value.code == "pass_expired"
    fund_before = _fund(maat)
    with maat.db.transaction() as s:
        closed = close_year(s, "testdorp", 2027, today=date(2028, 1, 2))
    assert maat.balance_of(done.award.id) == 0  # the 50,00 went back to the fund with the rest of the year
    assert _fund(maat) == fund_before + closed.returned_cents
    with maat.db.read() as s:
        assert verify(s).ok, verify(s).problems

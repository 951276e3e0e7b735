"""One child's pass (a case worker's award): the rules of an issuing run, for one child."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pasdienst.access.policy import CLI_ACTOR
from pasdienst.access.models import AuditEvent
from pasdienst.errors import ValidationFailed
from pasdienst.wallet.children import RowProblem, register_child
from pasdienst.wallet.errors import BudgetShort
from pasdienst.wallet.issue_one import issue_for_child
from pasdienst.wallet.models import Child

from .helpers import CODE, FULL_CENTS, HALF_CENTS, TODAY, YEAR, balances, prepared, verified

pytestmark = pytest.mark.money


def _child(session, ref: str) -> Child:
    return session.execute(select(Child).where(Child.child_ref == ref)).scalar_one()


def test_one_child_gets_what_an_issuing_run_would_give_it_and_it_is_audited(db, settings):
    prepared(db, settings)
    with db.transaction() as s:
        elif_, total = issue_for_child(s, CODE, _child(s, "K-3"), YEAR, settings=settings, today=TODAY, actor=CLI_ACTOR)
        assert total == HALF_CENTS and elif_.award_basis == "sliding"
        assert balances(s, elif_) == {"sport_culture": 7500, "zwemmen": 2250, "fashioncheque": 3750}
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "pass.issue")).scalar_one()
        assert event.entity_id == elif_.pass_number and event.after["total_cents"] == HALF_CENTS
        stijn, total = issue_for_child(s, CODE, _child(s, "K-4"), YEAR, settings=settings, today=TODAY)
        assert (stijn.award_basis, total) == ("override", FULL_CENTS)
    verified(db)


def test_a_child_the_scheme_gives_nothing_or_a_short_fund_is_refused_with_nothing_written(db, settings):
    prepared(db, settings, fund="100.00")
    with pytest.raises(ValidationFailed) as refused, db.transaction() as s:
        issue_for_child(s, CODE, _child(s, "K-5"), YEAR, settings=settings, today=TODAY)  # earns too much
    assert refused.value.refusal == "award_nothing_for_income"
    with pytest.raises(BudgetShort), db.transaction() as s:
        issue_for_child(s, CODE, _child(s, "K-1"), YEAR, settings=settings, today=TODAY)
    verified(db)


def test_a_child_typed_into_a_form_meets_the_rules_of_a_row_of_the_children_file(db, settings):
    prepared(db, settings)
    with pytest.raises(ValidationFailed) as refused, db.transaction() as s:
        register_child(s, CODE, {"child_ref": "F-1", "first_name": "Fem", "birth_date": "31-02-2018"},
                       settings=settings, today=TODAY)
    problem = refused.value.details["problem"]
    assert refused.value.refusal == "child_details_invalid"
    assert isinstance(problem, RowProblem) and problem.code == "date_unreal"
    with db.transaction() as s:
        child = register_child(s, CODE, {"child_ref": "F-1", "first_name": "Fem", "birth_date": "28-02-2018",
                                         "postcode": "9251aa", "override_reason": "huisbezoek"},
                               settings=settings, today=TODAY)
        assert (child.postcode, child.import_id, child.override_reason) == ("9251 AA", None, "huisbezoek")

"""One child's pass, issued by the same rules as a run: the award of a pass
to one child from the back office (``admin/awards.py``, through ``wallet.services``).

Unlike a run (``issuing.issue_passes``), a year with little of it left is
refused unless whoever awards it confirms it (``SHORT_VALIDITY_DAYS``), and
the child's own reasons for getting nothing are said by code.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.audit import record_audit
from ..access.policy import Actor
from ..config import Settings
from ..errors import NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from . import keys
from .eligibility import award_for, grants_for
from .errors import BudgetShort, PassStateConflict, ShortValidity
from .issuing import ItemValues, PlannedPass, PlannedVoucher, entry_of, first_issue_at, write_passes
from .models import Child, ChildPass
from .schemes import get_scheme


#: A pass valid for fewer days than this (``valid_until`` − today) is issued to one child only
#: when whoever awards it says they know: six weeks of a pass is hardly worth a letter.
SHORT_VALIDITY_DAYS = 42


def issue_for_child(
    session: Session,
    municipality_code: str,
    child: Child,
    year: int,
    *,
    settings: Settings,
    today: date,
    accept_short: bool = False,
    actor: Actor | None = None,
) -> tuple[ChildPass, int]:
    """Issue one child its pass for ``year`` from the fund, as an issuing run would: the pass and its total cents.

    The child's award is the run's (an override reason gives the full
    entitlement). Refused when the year has no scheme (``no_scheme``) or is
    over, when the pass would be valid for fewer than ``SHORT_VALIDITY_DAYS``
    days and ``accept_short`` is not given (``ShortValidity``), when the
    scheme gives the child nothing (``award_nothing_for_age``), and when the
    fund falls short (``BudgetShort``); nothing is written then. With
    ``actor`` it is audited as ``pass.issue``.
    """
    municipality = get_municipality(session, municipality_code)
    # The same lock as an issuing run, so the two never race on this child.
    session.execute(select(Municipality.id).where(Municipality.id == municipality.id).with_for_update())
    try:
        scheme = get_scheme(session, municipality.id, year, code=municipality.code)
    except NotFound:
        raise NotFound(f"there is no scheme for {year}", refusal="no_scheme", year=year) from None
    if today > scheme.valid_until:
        raise PassStateConflict(f"the {year} scheme is over; no passes can be issued for it", refusal="scheme_over", year=year)
    days_left = (scheme.valid_until - today).days
    if days_left < SHORT_VALIDITY_DAYS and not accept_short:
        raise ShortValidity(
            f"a pass for {year} would be valid for {days_left} days only (until {scheme.valid_until}): confirm it",
            refusal="short_validity_one_day" if days_left == 1 else "short_validity",
            year=year, days_left=days_left, valid_until=scheme.valid_until,
        )
    income = None if child.override_reason else keys.open_income(settings, child.income_sealed)
    award = award_for(income, child.override_reason, income_limit=scheme.income_limit, sliding_scale=scheme.sliding_scale)
    came = entry_of(scheme, child.birth_date, child.created_at, today=today,
                    first_issue=first_issue_at(session, municipality.id, year))
    if award is None:
        raise ValidationFailed(f"the {year} scheme gives this child nothing at its income; no pass was made",
                               refusal="award_nothing_for_income", year=year)
    grants = grants_for([ItemValues.of(item) for item in scheme.items], child.birth_date, came, award, mid_year=scheme.mid_year)
    if not grants:
        raise ValidationFailed(f"the {year} scheme gives a child of this age nothing; no pass was made",
                               refusal="award_nothing_for_age", year=year)
    fund = ledger.get_account(session, books.fund_key(municipality.code))
    needed = sum(g.cents for g in grants)
    available = ledger.balance(session, fund.id)
    if needed > available:
        raise BudgetShort(f"the fund holds {available} cents, the pass needs {needed}", needed=needed, available=available)
    plan = PlannedPass(
        child_id=child.id, scheme_id=scheme.id, year=year, generation=1,
        valid_from=scheme.valid_from, valid_until=scheme.valid_until,
        award_basis=award.basis, award_share=award.share,
        vouchers=[
            PlannedVoucher(
                kind=g.kind, category=g.category, code=g.code, cents=g.cents, strip_value_cents=g.strip_value_cents,
                valid_until=scheme.valid_until, source_account=fund.id, transfer_kind=books.ISSUE,
            )
            for g in grants
        ],
    )
    (pass_id,) = write_passes(session, municipality, [plan], settings=settings)
    child_pass = session.get(ChildPass, pass_id)
    assert child_pass is not None
    if actor is not None:
        record_audit(
            session, actor, "pass.issue", "pass", child_pass.pass_number,
            after={**child_pass.audit_snapshot(), "award_basis": child_pass.award_basis, "total_cents": needed},
            municipality_id=municipality.id,
        )
    return child_pass, needed

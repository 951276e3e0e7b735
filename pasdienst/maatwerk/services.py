"""Teams, their yearly euro budgets, and awards of maatwerk by case workers and funds.

Every function takes the caller's session and the acting user, flushes and
never commits (the page or command owns the transaction), checks the role
and the municipality itself, and records its own audit event. Refusals carry
a code (``refusal=``) that the pages say in Dutch from the ``nl`` catalogue.

An award is one budget voucher on the child's active pass, funded by one
transfer: ``issue`` from the municipality's fund for a team (within the
team's budget for the year), ``fund_award`` from the fund's own account for a
fund. Bound to a merchant, its voucher gets a code of its own with one
``voucher_binding``, so the till's rule for bound punch cards applies
unchanged: only that merchant takes it, and only in its category. Withdrawn,
the unspent rest goes back the way it came (``expire`` + ``return`` to the
fund, or ``fund_return`` to the fund's account) and the award row stays.

Two awards of one team at once cannot both take the last of its budget: the
team's budget row is locked (``FOR UPDATE``; SQLite's writers take turns
anyway) before what is used is summed. A fund's money is guarded by the
ledger itself (its account is non-negative).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.errors import Forbidden
from ..access.models import User
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_role
from ..clock import now_utc
from ..db import allocate_ids
from ..errors import Conflict, NotFound, ValidationFailed
from ..ledger import Account
from ..money import InvalidAmount, parse_euros, positive_cents
from ..municipalities.models import Municipality
from ..merchants.models import CATEGORIES, Merchant, VoucherBinding
from ..wallet.issuing import add_voucher
from ..wallet.lifecycle import find_pass
from ..wallet.models import ACTIVE, EXPIRED, REPLACED, Child, ChildPass, Voucher
from .errors import BudgetShort
from .models import OTHER, REASONS, WITHDRAW_REASONS, Award, Fund, FundMember, Team, TeamBudget, TeamMember, award_number, voucher_code

ADMIN = "admin"
CASEWORKER = "caseworker"
FUND = "fund"
#: An award above this is a typing error rather than a child's need (a year of a club is a few hundred euros).
MAX_AWARD_CENTS = 10_000_00
MAX_BUDGET_CENTS = 100_000_000_00
MAX_NAME = 100
MAX_NOTE = 300


# -- scope ---------------------------------------------------------------------

def municipality_of(session: Session, actor: Actor, *roles: str) -> Municipality:
    """The actor's municipality, after checking the role."""
    ensure_role(actor, *roles)
    municipality = session.get(Municipality, actor.municipality_id) if actor.municipality_id else None
    if municipality is None:
        raise NotFound("no municipality for this account")
    return municipality


def _own_team(session: Session, municipality: Municipality, team_id: int, *, for_update: bool = False) -> Team:
    query = select(Team).where(Team.id == team_id)
    if for_update:
        query = query.with_for_update()
    team = session.execute(query).scalar_one_or_none() if isinstance(team_id, int) else None
    # Another municipality's team is "not found": its existence stays private.
    if team is None or team.municipality_id != municipality.id:
        raise NotFound(f"no team {team_id}", refusal="maatwerk_team_not_found")
    return team


def team_of(session: Session, actor: Actor) -> Team | None:
    """The team the acting case worker belongs to, if any."""
    if actor.user_id is None:
        return None
    return session.execute(
        select(Team).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.user_id == actor.user_id)
    ).scalar_one_or_none()


def fund_of(session: Session, actor: Actor) -> Fund | None:
    """The fund a user of role ``fund`` acts for, if an admin has linked one."""
    if actor.user_id is None:
        return None
    return session.execute(
        select(Fund).join(FundMember, FundMember.fund_id == Fund.id).where(FundMember.user_id == actor.user_id)
    ).scalar_one_or_none()


def clean_name(name: str | None, what: str) -> str:
    """A team's or fund's name: spaces folded, 1 to 100 characters."""
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise ValidationFailed(f"a {what} needs a name", refusal="maatwerk_name_missing")
    if len(cleaned) > MAX_NAME:
        raise ValidationFailed(f"a {what}'s name has at most {MAX_NAME} characters", refusal="maatwerk_name_too_long",
                               limit=MAX_NAME)
    return cleaned


def cents_of(amount: str | int, *, refusal: str, allow_zero: bool = False) -> int:
    """Euros as typed (``225`` or ``225,00``) → cents; refused in one code whatever is wrong with it."""
    if isinstance(amount, int) and not isinstance(amount, bool):
        cents = amount
    else:
        try:
            cents = positive_cents(str(amount)) if not allow_zero else _cents_or_zero(str(amount))
        except InvalidAmount:
            raise ValidationFailed(f"{str(amount)[:40]!r} is not an amount in euros", refusal=refusal) from None
    if cents < 0 or (cents == 0 and not allow_zero):
        raise ValidationFailed(f"{cents} cents is not an amount to award", refusal=refusal)
    return cents


def _cents_or_zero(text: str) -> int:
    return parse_euros(text)


# -- teams -----------------------------------------------------------------------

def create_team(session: Session, actor: Actor, name: str) -> Team:
    """A new gebiedsteam of the admin's municipality (audit ``team.create``)."""
    municipality = municipality_of(session, actor, ADMIN)
    cleaned = clean_name(name, "team")
    if session.execute(
        select(Team.id).where(Team.municipality_id == municipality.id, Team.name == cleaned)
    ).scalar() is not None:
        raise Conflict(f"there already is a team {cleaned!r}", refusal="maatwerk_team_exists", name=cleaned)
    team = Team(municipality_id=municipality.id, name=cleaned, created_at=now_utc())
    session.add(team)
    session.flush()
    record_audit(session, actor, "team.create", "team", team.id, after={"name": cleaned})
    return team


def add_team_member(session: Session, actor: Actor, team_id: int, user_id: int) -> TeamMember:
    """Put a case worker of the municipality in a team; one in another team moves (audit ``team.member_add``)."""
    municipality = municipality_of(session, actor, ADMIN)
    team = _own_team(session, municipality, team_id)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.municipality_id != municipality.id:
        raise NotFound(f"no user {user_id}", refusal="maatwerk_user_not_found")
    if user.role != CASEWORKER:
        raise ValidationFailed(f"{user.email} is a {user.role}, not a case worker", refusal="maatwerk_not_caseworker",
                               email=user.email)
    member = session.get(TeamMember, user.id)
    before = None
    if member is None:
        member = TeamMember(user_id=user.id, team_id=team.id, added_at=now_utc())
        session.add(member)
    elif member.team_id == team.id:
        return member
    else:
        before = {"team": session.get_one(Team, member.team_id).name}
        member.team_id, member.added_at = team.id, now_utc()
    session.flush()
    record_audit(session, actor, "team.member_add", "team", team.id, before=before,
                 after={"team": team.name, "email": user.email})
    return member


def remove_team_member(session: Session, actor: Actor, team_id: int, user_id: int) -> None:
    """Take a case worker out of a team; the awards they made stay the team's (audit ``team.member_remove``)."""
    municipality = municipality_of(session, actor, ADMIN)
    team = _own_team(session, municipality, team_id)
    member = session.get(TeamMember, user_id) if isinstance(user_id, int) else None
    if member is None or member.team_id != team.id:
        raise NotFound(f"user {user_id} is not in team {team.id}", refusal="maatwerk_user_not_found")
    email = session.execute(select(User.email).where(User.id == member.user_id)).scalar_one()
    session.delete(member)
    session.flush()
    record_audit(session, actor, "team.member_remove", "team", team.id, before={"team": team.name, "email": email})


def set_team_budget(session: Session, actor: Actor, team_id: int, year: int, amount: str | int) -> TeamBudget:
    """What the team may award in ``year``; lower than what it used already stops its awards (audit ``team.budget``)."""
    municipality = municipality_of(session, actor, ADMIN)
    team = _own_team(session, municipality, team_id)
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(f"{year} is not a year between 2000 and 2100", refusal="maatwerk_year_invalid")
    cents = cents_of(amount, refusal="maatwerk_budget_invalid", allow_zero=True)
    if cents > MAX_BUDGET_CENTS:
        raise ValidationFailed("a team budget is at most 100,000,000 euros", refusal="maatwerk_budget_invalid")
    budget = _budget_row(session, team, year)
    before = None if budget is None else {"year": year, "budget_cents": budget.budget_cents}
    if budget is None:
        budget = TeamBudget(team_id=team.id, year=year, budget_cents=cents)
        session.add(budget)
    elif budget.budget_cents == cents:
        return budget
    budget.budget_cents, budget.updated_by_user_id, budget.updated_at = cents, actor.user_id, now_utc()
    session.flush()
    record_audit(session, actor, "team.budget", "team", team.id, before=before,
                 after={"team": team.name, "year": year, "budget_cents": cents})
    return budget


def used_cents(session: Session, *, year: int, team_id: int | None = None, fund_id: int | None = None) -> int:
    """What a team's (or fund's) awards of ``year`` hold on to: each award's amount less what its withdrawal returned."""
    query = select(func.coalesce(func.sum(Award.amount_cents - func.coalesce(Award.returned_cents, 0)), 0)).where(
        Award.year == year
    )
    query = query.where(Award.team_id == team_id) if team_id is not None else query.where(Award.fund_id == fund_id)
    return int(session.execute(query).scalar_one())


@dataclass(frozen=True)
class TeamBudgetStatus:
    team_id: int
    name: str
    year: int
    budget_cents: int | None
    used_cents: int

    @property
    def left_cents(self) -> int:
        return max(0, (self.budget_cents or 0) - self.used_cents)


def team_budget_status(session: Session, team: Team, year: int) -> TeamBudgetStatus:
    budget = session.execute(
        select(TeamBudget.budget_cents).where(TeamBudget.team_id == team.id, TeamBudget.year == year)
    ).scalar()
    return TeamBudgetStatus(team.id, team.name, year, budget, used_cents(session, year=year, team_id=team.id))


# -- awards ----------------------------------------------------------------------

@dataclass(frozen=True)
class AwardRequest:
    """What a case worker or a fund's user types: the child, the purpose, the amount, why."""

    child_ref: str
    category: str
    amount: str | int
    reason: str
    note: str = ""
    merchant_id: int | None = None
    #: The form's one-off key (an idempotent request).
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Awarded:
    award: Award
    child_ref: str
    first_name: str
    pass_number: str
    merchant_name: str | None
    #: True when the same form was sent again: the first award is returned, nothing moved.
    replayed: bool = False


def award(session: Session, actor: Actor, request: AwardRequest, *, today: date, by: str) -> Awarded:
    """An award by a team's case worker (``by=CASEWORKER``) or by a fund's user (``by=FUND``).

    A team's is paid from the municipality's fund (``issue``), within the
    team's budget for this year; a fund's from the fund's own money
    (``fund_award``), as far as it goes. Raises ``Conflict`` (no team or
    fund; no budget set; the child has no active pass), ``BudgetShort`` (the
    team's budget, the municipality's fund or the fund's money falls short),
    ``ValidationFailed`` (category, amount, reason, note, merchant) and
    ``NotFound`` (the child). The same form sent again returns the first award.
    """
    municipality = municipality_of(session, actor, by)
    team = team_of(session, actor) if by == CASEWORKER else None
    fund = fund_of(session, actor) if by == FUND else None
    if by == CASEWORKER and team is None:
        raise Conflict(f"{actor.email} is in no team", refusal="maatwerk_no_team")
    if by == FUND and fund is None:
        raise Conflict(f"{actor.email} acts for no fund", refusal="maatwerk_no_fund")
    checked = _check_request(session, municipality, request)
    replay = _replayed(session, municipality, request)
    if replay is not None:
        return replay
    year = today.year
    # The team's budget row or the fund's row first: two awards of one team,
    # or a twin request with the same key, take turns from here on.
    budget = _locked_budget(session, team, year) if team is not None else None
    if fund is not None:
        session.execute(select(Fund.id).where(Fund.id == fund.id).with_for_update())
    replay = _replayed(session, municipality, request)  # a twin that committed while we waited for the lock
    if replay is not None:
        return replay
    if team is not None and budget is not None:
        left = budget.budget_cents - used_cents(session, year=year, team_id=team.id)
        if checked.cents > left:
            raise BudgetShort(
                f"team {team.name} has {max(left, 0)} cents left of its budget for {year}, not {checked.cents}",
                refusal="maatwerk_team_budget_short", team=team.name, year=year, left_cents=max(left, 0),
                amount_cents=checked.cents,
            )
    if fund is not None:
        source, kind = fund.account_id, books.FUND_AWARD
    else:
        source, kind = ledger.get_account(session, books.fund_key(municipality.code)).id, books.ISSUE
    return _award(session, actor, municipality, checked, request, today=today, team=team, fund=fund,
                  source=source, kind=kind)


def award_by_team(session: Session, actor: Actor, request: AwardRequest, *, today: date) -> Awarded:
    """A case worker's award from the municipality's fund, within their team's budget for this year."""
    return award(session, actor, request, today=today, by=CASEWORKER)


def award_by_fund(session: Session, actor: Actor, request: AwardRequest, *, today: date) -> Awarded:
    """A fund's user awards from the fund's own money (``fund_award``), as far as it goes."""
    return award(session, actor, request, today=today, by=FUND)


def _budget_row(session: Session, team: Team, year: int) -> TeamBudget | None:
    """The team's budget row of ``year``, locked: who sets or spends it takes turns."""
    return session.execute(
        select(TeamBudget).where(TeamBudget.team_id == team.id, TeamBudget.year == year).with_for_update()
    ).scalar_one_or_none()


def _locked_budget(session: Session, team: Team, year: int) -> TeamBudget:
    budget = _budget_row(session, team, year)
    if budget is None:
        raise Conflict(f"team {team.name} has no budget for {year}", refusal="maatwerk_no_budget", team=team.name,
                       year=year)
    return budget


@dataclass(frozen=True)
class _Checked:
    child: Child
    category: str
    cents: int
    reason: str
    note: str | None
    merchant: Merchant | None


def _check_request(session: Session, municipality: Municipality, request: AwardRequest) -> _Checked:
    """Everything about the request that needs no lock, each refusal with its own code."""
    category = (request.category or "").strip()
    if category not in CATEGORIES:
        raise ValidationFailed(f"{category[:40]!r} is not a category", refusal="maatwerk_category_unknown")
    cents = cents_of(request.amount, refusal="maatwerk_amount_invalid")
    if cents > MAX_AWARD_CENTS:
        raise ValidationFailed(f"an award is at most {MAX_AWARD_CENTS} cents", refusal="maatwerk_amount_too_large",
                               limit_cents=MAX_AWARD_CENTS)
    reason = (request.reason or "").strip()
    if reason not in REASONS:
        raise ValidationFailed(f"{reason[:40]!r} is not a reason", refusal="maatwerk_reason_unknown")
    note = " ".join(str(request.note or "").split()) or None
    if reason == OTHER and not note:
        raise ValidationFailed("the reason 'other' needs a note", refusal="maatwerk_note_required")
    if note is not None and len(note) > MAX_NOTE:
        raise ValidationFailed(f"a note has at most {MAX_NOTE} characters", refusal="maatwerk_note_too_long",
                               limit=MAX_NOTE)
    merchant = None
    if request.merchant_id is not None:
        merchant = session.get(Merchant, request.merchant_id) if isinstance(request.merchant_id, int) else None
        if merchant is None or merchant.municipality_id != municipality.id or not merchant.approved:
            raise ValidationFailed(f"no approved merchant {request.merchant_id}", refusal="maatwerk_merchant_unknown")
        if category not in merchant.category_set:
            raise ValidationFailed(f"{merchant.name} does not take {category}", refusal="maatwerk_merchant_category",
                                   merchant=merchant.name, category=category)
    ref = " ".join(str(request.child_ref or "").split())
    if not ref:
        raise ValidationFailed("give the child's reference", refusal="maatwerk_child_missing")
    child = session.execute(
        select(Child).where(Child.municipality_id == municipality.id, Child.child_ref == ref[:64])
    ).scalar_one_or_none()
    if child is None:
        raise ValidationFailed(f"no child {ref[:64]!r}", refusal="maatwerk_child_unknown", child_ref=ref[:64])
    return _Checked(child, category, cents, reason, note, merchant)


def _key(municipality: Municipality, request: AwardRequest) -> str | None:
    raw = (request.idempotency_key or "").strip()
    return f"maatwerk:{municipality.code}:{raw}"[:200] if raw else None


def _replayed(session: Session, municipality: Municipality, request: AwardRequest) -> Awarded | None:
    key = _key(municipality, request)
    if key is None:
        return None
    award = session.execute(select(Award).where(Award.idempotency_key == key)).scalar_one_or_none()
    return None if award is None else _awarded(session, award, replayed=True)


def _active_pass(session: Session, child: Child, today: date) -> ChildPass:
    found = session.execute(
        select(ChildPass.id).where(
            ChildPass.child_id == child.id, ChildPass.status == ACTIVE, ChildPass.valid_from <= today,
            ChildPass.valid_until >= today,
        ).order_by(ChildPass.year.desc(), ChildPass.generation.desc()).limit(1)
    ).scalar()
    if found is None:
        raise Conflict(f"child {child.child_ref} has no active pass today", refusal="maatwerk_no_pass",
                       child_ref=child.child_ref)
    # Locked, and read again: a block or reissue that got there first has made it inactive.
    child_pass = find_pass(session, str(found), for_update=True)
    if child_pass.status != ACTIVE:
        raise Conflict(f"child {child.child_ref} has no active pass today", refusal="maatwerk_no_pass",
                       child_ref=child.child_ref)
    return child_pass


def _award(
    session: Session, actor: Actor, municipality: Municipality, checked: _Checked, request: AwardRequest, *,
    today: date, team: Team | None, fund: Fund | None, source: int, kind: str,
) -> Awarded:
    child_pass = _active_pass(session, checked.child, today)
    (award_id,) = allocate_ids(session, Award.__table__, 1)
    code = voucher_code(award_id)
    available = ledger.balance(session, source)
    if checked.cents > available:
        raise _short(fund, available, checked.cents)
    try:
        added = add_voucher(
            session, child_pass, category=checked.category, code=code, cents=checked.cents, source_account=source,
            transfer_kind=kind, reference=f"maatwerk {award_number(award_id)}",
            # A fund's money that is not spent goes back to the fund, also at year end.
            return_account_id=fund.account_id if fund is not None else None,
        )
    except ledger.InsufficientFunds as exc:
        # Another award took the money between the look and the guarded debit.
        raise _short(fund, exc.balance, checked.cents) from None
    if checked.merchant is not None:
        session.add(VoucherBinding(municipality_id=municipality.id, voucher_code=code, merchant_id=checked.merchant.id))
    assert actor.user_id is not None
    award = Award(
        id=award_id, municipality_id=municipality.id, year=child_pass.year, team_id=team.id if team else None,
        fund_id=fund.id if fund else None, user_id=actor.user_id, child_id=checked.child.id,
        voucher_id=added.voucher.id, merchant_id=checked.merchant.id if checked.merchant else None,
        category=checked.category, reason=checked.reason, note=checked.note, amount_cents=checked.cents,
        transfer_id=added.transfer.id, idempotency_key=_key(municipality, request), created_at=now_utc(),
    )
    session.add(award)
    session.flush()
    record_audit(session, actor, "maatwerk.award", "maatwerk_award", award.id,
                 after=_snapshot(award, checked.child, child_pass, team, fund, checked.merchant))
    return Awarded(award, checked.child.child_ref, checked.child.first_name, child_pass.pass_number,
                   checked.merchant.name if checked.merchant else None)


def _short(fund: Fund | None, available: int, cents: int) -> BudgetShort:
    """The money an award comes from falls short: the municipality's fund (a team's) or the fund's own."""
    message = f"{available} cents left to award, not {cents}"
    if fund is None:
        return BudgetShort(message, refusal="maatwerk_fund_short", left_cents=available, amount_cents=cents)
    return BudgetShort(message, refusal="maatwerk_fund_org_short", left_cents=available, amount_cents=cents,
                       fund=fund.name)


def _snapshot(
    award: Award, child: Child, child_pass: ChildPass, team: Team | None, fund: Fund | None, merchant: Merchant | None,
) -> dict[str, Any]:
    # The child's reference, not its name or birth date: the log needs no more (DOMAIN.md §3.9).
    return {
        "award": award.number, "team": team.name if team else None, "fund": fund.name if fund else None,
        "child_ref": child.child_ref, "pass": child_pass.pass_number, "category": award.category,
        "merchant": merchant.name if merchant else None, "reason": award.reason, "note": award.note,
        "amount_cents": award.amount_cents,
    }


def _awarded(session: Session, award: Award, *, replayed: bool = False) -> Awarded:
    child = session.get(Child, award.child_id)
    voucher = session.get(Voucher, award.voucher_id)
    assert child is not None and voucher is not None
    child_pass = session.get(ChildPass, voucher.pass_id)
    assert child_pass is not None
    merchant = session.get(Merchant, award.merchant_id) if award.merchant_id else None
    return Awarded(award, child.child_ref, child.first_name, child_pass.pass_number,
                   merchant.name if merchant else None, replayed)


# -- withdrawal ------------------------------------------------------------------

def _own_award(session: Session, actor: Actor, award_id: int) -> Award:
    award = session.execute(
        select(Award).where(Award.id == award_id).with_for_update()
    ).scalar_one_or_none() if isinstance(award_id, int) else None
    if award is None or award.municipality_id != actor.municipality_id:
        raise NotFound(f"no award {award_id}", refusal="maatwerk_award_not_found")
    return award


def may_withdraw(session: Session, actor: Actor, award: Award) -> bool:
    """A team's award: the municipality's admin or a case worker of that team; a fund's: a user of that fund."""
    if award.team_id is not None:
        if actor.role == ADMIN:
            return True
        team = team_of(session, actor) if actor.role == CASEWORKER else None
        return team is not None and team.id == award.team_id
    fund = fund_of(session, actor) if actor.role == FUND else None
    return fund is not None and fund.id == award.fund_id


def live_voucher(session: Session, voucher_id: int) -> tuple[Voucher, str]:
    """The voucher that holds an award's money now (a reissue carried it to a successor) and its pass's status."""
    voucher = session.get(Voucher, voucher_id)
    assert voucher is not None
    while True:
        status = session.execute(select(ChildPass.status).where(ChildPass.id == voucher.pass_id)).scalar_one()
        if status != REPLACED:
            return voucher, status
        successor = session.execute(select(Voucher).where(Voucher.carried_from_id == voucher.id)).scalar_one_or_none()
        if successor is None:
            return voucher, status
        voucher = successor


def _withdraw_reason(reason: str, note: str) -> tuple[str, str | None]:
    """Why an award is withdrawn, checked as an award's own reason is: a code from the list, ``other`` with a note."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why the award is withdrawn", refusal="maatwerk_withdraw_reason_missing")
    if reason not in WITHDRAW_REASONS:
        raise ValidationFailed(f"{reason[:40]!r} is not a reason to withdraw", refusal="maatwerk_withdraw_reason_unknown")
    cleaned = " ".join(str(note or "").split()) or None
    if reason == OTHER and not cleaned:
        raise ValidationFailed("the reason 'other' needs a note", refusal="maatwerk_withdraw_note_required")
    if cleaned is not None and len(cleaned) > MAX_NOTE:
        raise ValidationFailed(f"a note has at most {MAX_NOTE} characters", refusal="maatwerk_note_too_long",
                               limit=MAX_NOTE)
    return reason, cleaned


def withdraw_award(session: Session, actor: Actor, award_id: int, *, reason: str, note: str = "", today: date) -> Award:
    """Withdraw an award, saying why (``reason`` from ``WITHDRAW_REASONS``; ``other`` needs a ``note``):
    what is still unspent goes back where it came from; what was spent stays spent.

    The award keeps its row (``withdrawn_at``, ``returned_cents``, the reason
    and note) and the ledger gets new transfers: nothing is deleted. Its
    voucher stops being valid (``valid_until`` yesterday), so money a void
    gives back to it later cannot be spent again: year end returns it. Raises
    ``ValidationFailed`` (no reason, an unknown one, ``other`` without a
    note, a note too long; nothing is locked or moved), ``NotFound`` and
    ``Forbidden`` (not the award's team or fund) and ``Conflict`` (withdrawn already).
    """
    ensure_role(actor, ADMIN, CASEWORKER, FUND)
    reason, cleaned_note = _withdraw_reason(reason, note)
    award = _own_award(session, actor, award_id)
    if not may_withdraw(session, actor, award):
        raise Forbidden(f"award {award.number} is not yours to withdraw", refusal="maatwerk_not_yours")
    if award.withdrawn_at is not None:
        raise Conflict(f"award {award.number} was withdrawn already", refusal="maatwerk_withdrawn_already",
                       award=award.number)
    voucher, status = live_voucher(session, award.voucher_id)
    # The voucher's account locked (lock order: accounts before the pass): a till
    # that redeems from it now either went first or waits and finds it empty.
    balance = int(session.execute(
        select(Account.balance).where(Account.id == voucher.account_id).with_for_update()
    ).scalar_one())
    municipality = session.get(Municipality, award.municipality_id)
    assert municipality is not None
    reference = f"maatwerk {award.number} withdrawn"
    if balance > 0 and status != EXPIRED:
        if award.team_id is not None:
            expired = ledger.get_account(session, books.expired_key(municipality.code))
            fund_account = ledger.get_account(session, books.fund_key(municipality.code))
            ledger.transfer(session, kind=books.EXPIRE, source=voucher.account_id, destination=expired.id,
                            amount=balance, reference=reference)
            ledger.transfer(session, kind=books.RETURN, source=expired.id, destination=fund_account.id,
                            amount=balance, reference=f"{reference}: back to the fund")
        else:
            fund = session.get(Fund, award.fund_id)
            assert fund is not None
            ledger.transfer(session, kind=books.FUND_RETURN, source=voucher.account_id, destination=fund.account_id,
                            amount=balance, reference=reference)
    else:
        balance = 0
    award.withdrawn_at, award.withdrawn_by_user_id, award.returned_cents = now_utc(), actor.user_id, balance
    award.withdraw_reason, award.withdraw_note = reason, cleaned_note
    voucher.valid_until = min(voucher.valid_until, today - timedelta(days=1))
    session.flush()
    record_audit(session, actor, "maatwerk.withdraw", "maatwerk_award", award.id,
                 before={"award": award.number, "amount_cents": award.amount_cents},
                 after={"award": award.number, "returned_cents": balance, "status": "withdrawn",
                        "withdraw_reason": reason, "note": cleaned_note})
    return award

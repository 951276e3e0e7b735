"""``/admin/maatwerk`` (teams, budgets, funds, a case worker's awards) and ``/fonds`` (a fund's own page).

Each view parses the form, opens one transaction, calls one service and
redirects with a Dutch flash message (POST-redirect-GET); a refusal is said
from the ``nl`` catalogue. The one exception renders from the POST: a new
fund login's one-time password, which must not travel in a redirect.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import labels, ledger
from ..access.models import User
from ..access.web import current_actor, requires
from ..clock import AMSTERDAM
from ..clock import today as clock_today
from ..db import Database
from ..errors import PasdienstError, ValidationFailed
from ..merchants.models import CATEGORIES, Merchant
from ..reports import maatwerk as figures
from ..reports.usage import counted
from ..web import parsing
from ..web.security import private
from ..web.dutch import Notice, notice
from ..web.writes import change, refused, write
from . import funds, services
from .models import REASONS, WITHDRAW_REASONS, Team, TeamMember

bp = Blueprint("maatwerk", __name__)


def _db() -> Database:
    return current_app.extensions["pasdienst.db"]


def _today():
    return clock_today(current_app.extensions["pasdienst.settings"].today)


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _year() -> int:
    raw = (request.values.get("year") or "").strip()
    if not raw:
        return _today().year
    year = parsing.whole_number(raw, low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    if year is None:
        raise ValidationFailed(f"{raw[:20]!r} is not a year", refusal="maatwerk_year_invalid")
    return year


def _merchant_id() -> int | None:
    raw = _form("merchant_id")
    if not raw:
        return None
    found = parsing.whole_number(raw, low=1, high=2**31 - 1)
    if found is None:
        raise ValidationFailed(f"{raw[:20]!r} is not a merchant", refusal="maatwerk_merchant_unknown")
    return found


def _award_request() -> services.AwardRequest:
    return services.AwardRequest(
        child_ref=_form("child_ref"), category=_form("category"), amount=_form("amount"), reason=_form("reason"),
        note=_form("note"), merchant_id=_merchant_id(), idempotency_key=_form("key")[:64] or None,
    )


def _awarded(done: services.Awarded) -> Notice:
    given = {"amount_cents": done.award.amount_cents, "kind": labels.category_title(done.award.category).lower(),
             "first_name": done.first_name, "child_ref": done.child_ref, "number": done.pass_number,
             "award": done.award.number}
    if done.merchant_name:
        return notice("maatwerk_awarded_at", merchant=done.merchant_name, **given)
    return notice("maatwerk_awarded", **given)


def _merchants(session: Session, municipality_id: int) -> list[Merchant]:
    return list(session.execute(
        select(Merchant).where(Merchant.municipality_id == municipality_id, Merchant.status == "approved")
        .order_by(Merchant.name)
    ).scalars())


def _page(template: str, **context: Any) -> str:
    return render_template(
        template, actor=current_actor(), amsterdam=AMSTERDAM, categories=CATEGORIES, reasons=REASONS,
        withdraw_reasons=WITHDRAW_REASONS, new_key=uuid.uuid4().hex, **context,
    )


# -- /admin/maatwerk -------------------------------------------------------------

@bp.get("/admin/maatwerk")
@requires("admin", "caseworker")
def overview() -> ResponseReturnValue:
    actor = current_actor()
    year = _year()
    with _db().read() as session:
        municipality = services.municipality_of(session, actor, "admin", "caseworker")
        merchants = _merchants(session, municipality.id)
        if actor.role == "admin":
            teams = list(session.execute(
                select(Team).where(Team.municipality_id == municipality.id).order_by(Team.name)
            ).scalars())
            budgets = {t.id: services.team_budget_status(session, t, year) for t in teams}
            members: dict[int, list[tuple[int, str]]] = {}
            for team_id, user_id, email in session.execute(
                select(TeamMember.team_id, User.id, User.email).join(User, User.id == TeamMember.user_id)
                .join(Team, Team.id == TeamMember.team_id)
                .where(Team.municipality_id == municipality.id).order_by(User.email)
            ):
                members.setdefault(team_id, []).append((user_id, email))
            caseworkers = list(session.execute(
                select(User.id, User.email).where(User.municipality_id == municipality.id,
                                                  User.role == "caseworker", User.active.is_(True))
                .order_by(User.email)
            ).all())
            all_funds = funds.funds_of(session, actor)
            fund_logins = funds.fund_users(session, [f.id for f in all_funds])
            fund_balances = ledger.balances(session, [f.account_id for f in all_funds]) if all_funds else {}
            awards = figures.award_lines(session, municipality.id, year, counted(municipality.id), limit=200)
            return _page(
                "maatwerk/admin.html", year=year, teams=teams, budgets=budgets, members=members,
                caseworkers=caseworkers, funds=all_funds, fund_logins=fund_logins, fund_balances=fund_balances,
                givers=figures.givers(session, municipality.id, year, counted(municipality.id)), awards=awards, merchants=merchants,
                active="maatwerk",
            )
        team = services.team_of(session, actor)
        status = services.team_budget_status(session, team, year) if team else None
        awards = (figures.award_lines(session, municipality.id, year, counted(municipality.id), team_id=team.id, limit=200)
                  if team else [])
    return _page("maatwerk/caseworker.html", year=year, team=team, status=status, awards=awards,
                 merchants=merchants, this_year=_today().year, active="maatwerk")


@bp.post("/admin/maatwerk/teams")
@requires("admin")
def team_create() -> ResponseReturnValue:
    actor = current_actor()
    return change(lambda s: services.create_team(s, actor, _form("name")),
                  success=lambda team: notice("team_created", name=team.name), target="/admin/maatwerk")


@bp.post("/admin/maatwerk/teams/<int:team_id>/leden")
@requires("admin")
def team_member_add(team_id: int) -> ResponseReturnValue:
    actor = current_actor()
    user_id = parsing.whole_number(_form("user_id"), low=1, high=2**31 - 1)

    def work(session: Session) -> str:
        if user_id is None:
            raise ValidationFailed("choose a case worker", refusal="maatwerk_user_missing")
        services.add_team_member(session, actor, team_id, user_id)
        return session.execute(select(User.email).where(User.id == user_id)).scalar_one()

    return change(work, success=lambda email: notice("team_member_added", email=email), target="/admin/maatwerk")


@bp.post("/admin/maatwerk/teams/<int:team_id>/leden/<int:user_id>/weg")
@requires("admin")
def team_member_remove(team_id: int, user_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(lambda s: services.remove_team_member(s, actor, team_id, user_id),
                  success=lambda _: notice("team_member_removed"), target="/admin/maatwerk")


@bp.post("/admin/maatwerk/teams/<int:team_id>/budget")
@requires("admin")
def team_budget(team_id: int) -> ResponseReturnValue:
    actor = current_actor()
    year = _year()
    return change(
        lambda s: services.set_team_budget(s, actor, team_id, year, _form("budget")),
        success=lambda b: notice("team_budget_set", year=b.year, budget_cents=b.budget_cents),
        target=f"/admin/maatwerk?year={year}",
    )


def _award(by: str, page: str) -> ResponseReturnValue:
    """The award form of a team's case worker or a fund's user: one service, the giver as its parameter."""
    actor = current_actor()
    today = _today()
    return change(lambda s: services.award(s, actor, _award_request(), today=today, by=by), success=_awarded, target=page)


def _withdraw(award_id: int, page: str) -> ResponseReturnValue:
    actor = current_actor()
    today = _today()
    reason, note = _form("reason"), _form("note")
    return change(lambda s: services.withdraw_award(s, actor, award_id, reason=reason, note=note, today=today),
                  success=_withdrawn, target=page)


def _withdrawn(award: Any) -> Notice:
    return notice("maatwerk_withdrawn", award=award.number, returned_cents=award.returned_cents or 0)


@bp.post("/admin/maatwerk/toekennen")
@requires("caseworker")
def team_award() -> ResponseReturnValue:
    return _award(services.CASEWORKER, "/admin/maatwerk")


@bp.post("/admin/maatwerk/toekenningen/<int:award_id>/intrekken")
@requires("admin", "caseworker")
def team_withdraw(award_id: int) -> ResponseReturnValue:
    return _withdraw(award_id, "/admin/maatwerk")


@bp.post("/admin/maatwerk/fondsen")
@requires("admin")
def fund_create() -> ResponseReturnValue:
    actor = current_actor()
    return change(lambda s: funds.create_fund(s, actor, _form("name")),
                  success=lambda fund: notice("fund_created", name=fund.name), target="/admin/maatwerk")


@bp.post("/admin/maatwerk/fondsen/<int:fund_id>/storting")
@requires("admin")
def fund_topup(fund_id: int) -> ResponseReturnValue:
    actor = current_actor()
    return change(
        lambda s: funds.topup_fund(s, actor, fund_id, _form("amount"), reference=_form("reference"),
                                   idempotency_key=_form("key")[:64] or None),
        success=lambda posted: notice("fund_topped_up", amount_cents=posted.amount), target="/admin/maatwerk",
    )


@bp.post("/admin/maatwerk/fondsen/<int:fund_id>/gebruikers")
@private  # a one-time password: never cached, never sent on as a referrer
@requires("admin")
def fund_user_add(fund_id: int) -> ResponseReturnValue:
    actor = current_actor()

    def work(session: Session) -> tuple[str, str]:
        user, password = funds.add_fund_user(session, actor, fund_id, _form("email"))
        return user.email, password

    try:
        email, password = write(work)
    except PasdienstError as exc:
        return refused(exc, "/admin/maatwerk")
    return render_template(
        "admin/password_once.html", actor=actor, email=email, password=password, pending=False,
        back="/admin/maatwerk", back_title="Terug naar maatwerk",
    )


# -- /fonds: a fund's own page -----------------------------------------------------

@bp.get("/fonds")
@requires("fund")
def fund_page() -> ResponseReturnValue:
    actor = current_actor()
    year = _year()
    with _db().read() as session:
        fund = funds.fund_for_page(session, actor)
        balance = ledger.balance(session, fund.account_id)
        awards = figures.award_lines(session, fund.municipality_id, year, counted(fund.municipality_id), fund_id=fund.id,
                                     limit=200)
        merchants = _merchants(session, fund.municipality_id)
        given = next((g for g in figures.givers(session, fund.municipality_id, year, counted(fund.municipality_id))
                      if g.kind == figures.FUND and g.id == fund.id), None)
    return _page("maatwerk/fund.html", year=year, fund=fund, balance=balance, awards=awards, merchants=merchants,
                 given=given, active="fund")


@bp.post("/fonds/toekennen")
@requires("fund")
def fund_award() -> ResponseReturnValue:
    return _award(services.FUND, "/fonds")


@bp.post("/fonds/toekenningen/<int:award_id>/intrekken")
@requires("fund")
def fund_withdraw(award_id: int) -> ResponseReturnValue:
    return _withdraw(award_id, "/fonds")


def init_app(app: Any) -> None:
    app.register_blueprint(bp)

"""Maatwerk in ``demodorp`` (a step of ``pasdienst.demo``): a gebiedsteam and a fund, each with an award.

Gebiedsteam Noord, with the demo case worker in it and a budget for the
year, awarded a child the membership of the sports club (bound to that
club); the Jeugdfonds Sport & Cultuur, topped up by its own transfer and with
a login of its own, awarded a child its kit. All through the services the
pages use, so the audit log and ``/admin/maatwerk`` show them.

Idempotent: nothing is added once the team exists.
"""
from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.demo import DEMO_MERCHANTS, DEMO_STAFF
from ..access.models import User
from ..access.accounts import actor_for_email, create_user
from ..config import Settings
from ..municipalities.services import get_municipality
from ..merchants.models import Merchant
from ..wallet.models import ACTIVE, Child, ChildPass
from . import funds, services
from .models import FundMember, Team

DEMO_MUNICIPALITY = "demodorp"
TEAM = "Gebiedsteam Noord"
FUND = "Jeugdfonds Sport & Cultuur"
#: A fund's login, with a fixed password like the other demo logins: for a local demo only.
FUND_LOGIN = ("jeugdfonds@demodorp.example", "demo-fonds-1")


class Report(Protocol):
    def add(self, line: str) -> None: ...


def load_maatwerk_demo(session: Session, report: Report, settings: Settings, today: date) -> None:
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    email, password = FUND_LOGIN
    if session.execute(
        select(Team.id).where(Team.municipality_id == municipality.id, Team.name == TEAM)
    ).scalar() is None:
        admin = actor_for_email(session, _staff("admin"))
        caseworker = session.execute(select(User).where(User.email == _staff("caseworker"))).scalar_one()
        team = services.create_team(session, admin, TEAM)
        services.add_team_member(session, admin, team.id, caseworker.id)
        services.set_team_budget(session, admin, team.id, today.year, "15000,00")
        fund = funds.create_fund(session, admin, FUND)
        funds.topup_fund(session, admin, fund.id, "2500,00", reference="bijdrage Jeugdfonds voor dit jaar")
        if session.execute(select(User.id).where(User.email == email)).scalar() is None:
            user, _ = create_user(session, email, role="fund", municipality_code=DEMO_MUNICIPALITY, password=password,
                                  must_change_password=False, actor=admin)
            session.add(FundMember(user_id=user.id, fund_id=fund.id))
            session.flush()
        club = session.execute(
            select(Merchant.id).where(Merchant.municipality_id == municipality.id, Merchant.name == DEMO_MERCHANTS[0][0])
        ).scalar_one()
        children = _children_with_a_pass(session, municipality.id, today)
        if len(children) >= 2:
            services.award_by_team(session, actor_for_email(session, caseworker.email), services.AwardRequest(
                child_ref=children[0], category="sport_culture", amount="225,00", reason="membership",
                note="contributie voetbalclub, seizoen", merchant_id=club,
            ), today=today)
            services.award_by_fund(session, actor_for_email(session, email), services.AwardRequest(
                child_ref=children[1], category="sport_culture", amount="90,00", reason="equipment",
                note="voetbalschoenen en scheenbeschermers", merchant_id=club,
            ), today=today)
    report.add(
        f"maatwerk at /admin/maatwerk: {TEAM} (the demo caseworker, a budget for {today.year}) and {FUND} "
        f"(login {email} / {password} at /fonds), each with an award for the sports club"
    )


def _children_with_a_pass(session: Session, municipality_id: int, today: date) -> list[str]:
    """Two children whose pass works today, from the end of the list (the first are the demo's printed links)."""
    return list(session.execute(
        select(Child.child_ref).join(ChildPass, ChildPass.child_id == Child.id)
        .where(ChildPass.municipality_id == municipality_id, ChildPass.status == ACTIVE,
               ChildPass.valid_from <= today, ChildPass.valid_until >= today)
        .order_by(ChildPass.id.desc()).limit(2)
    ).scalars())


def _staff(role: str) -> str:
    return next(address for address, staff_role, _password in DEMO_STAFF if staff_role == role)

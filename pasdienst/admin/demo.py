"""The back office of ``demodorp`` at work (a step of ``pasdienst.demo``).

The case workers' yearly cap, so the demo case worker can register a child
and issue its pass at ``/admin/kinderen/aanmelden``; and what a year brings
to the desk: one child awarded a pass by the case worker after a kitchen-table
talk, one pass blocked (lost) and one replaced, its money carried over. All
through the same services the pages use, so the audit log shows them.

Idempotent: the cap is set once, the award is made once (its child reference
is fixed), and a pass is blocked and one replaced only while none is.
"""
from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.demo import DEMO_STAFF
from ..access.accounts import actor_for_email
from ..config import Settings
from ..municipalities.services import get_municipality
from ..wallet.demo import render_missing_qr
from ..wallet.models import ACTIVE, BLOCKED, REPLACED, Child, ChildPass
from .models import CaseworkerCap
from ..wallet.services import block_pass, reissue_pass
from .awards import register_child_by_caseworker
from .caps import cap_of

DEMO_MUNICIPALITY = "demodorp"
DEMO_CAP = 25
AWARDED_CHILD = "VB-0101"


class Report(Protocol):
    def add(self, line: str) -> None: ...


def load_admin_demo(session: Session, report: Report, settings: Settings, today: date) -> None:
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    cap = cap_of(session, municipality.id, today.year)
    if cap is None:
        session.add(CaseworkerCap(municipality_id=municipality.id, year=today.year, max_passes=DEMO_CAP))
        session.flush()
        cap = DEMO_CAP
    admin = actor_for_email(session, _staff("admin"))
    awarded = session.execute(
        select(Child.id).where(Child.municipality_id == municipality.id, Child.child_ref == AWARDED_CHILD)
    ).scalar()
    if awarded is None:
        caseworker = actor_for_email(session, _staff("caseworker"))
        register_child_by_caseworker(session, caseworker, {
            "child_ref": AWARDED_CHILD, "first_name": "Daan", "birth_date": f"{today.year - 9}-05-14",
            "household_ref": "HH0101", "postcode": "9251 AB", "email": "",
            "override_reason": "Keukentafelgesprek: inkomen net boven de grens, schulden in beheer",
        }, settings=settings, today=today, accept_short=True)  # a demo made in December still shows the award
    statuses = set(session.execute(
        select(ChildPass.status).where(ChildPass.municipality_id == municipality.id)
    ).scalars())
    if BLOCKED not in statuses and REPLACED not in statuses:
        # The last passes: the first ones are printed as the demo's links and must keep working.
        last_two = session.execute(
            select(ChildPass).where(ChildPass.municipality_id == municipality.id, ChildPass.status == ACTIVE)
            .order_by(ChildPass.id.desc()).limit(3)
        ).scalars().all()[1:]
        if len(last_two) == 2:
            block_pass(session, last_two[0].pass_number, reason="Kwijt, gemeld door de ouder", actor=admin)
            reissue_pass(session, last_two[1].pass_number, reason="damaged", note="in de was geweest",
                         settings=settings, today=today, actor=admin)
    render_missing_qr(session, municipality.id, settings)
    report.add(
        f"back office at /admin (admin and caseworker logins above); each caseworker may award {cap} passes "
        f"in {today.year} (one awarded: child {AWARDED_CHILD}); one pass blocked, one replaced; "
        "shops apply at /merchant/signup"
    )


def _staff(role: str) -> str:
    return next(email for email, staff_role, _password in DEMO_STAFF if staff_role == role)

"""Demo settings for the back office of ``demodorp`` (a step of ``pasdienst.demo``).

Idempotent: the case workers' yearly cap is set once, so the demo case
worker can register a child and issue its pass at ``/admin/kinderen/aanmelden``.
"""
from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from ..config import Settings
from ..municipalities.services import get_municipality
from .models import CaseworkerCap
from .services import cap_of

DEMO_MUNICIPALITY = "demodorp"
DEMO_CAP = 25


class Report(Protocol):
    def add(self, line: str) -> None: ...


def load_admin_demo(session: Session, report: Report, settings: Settings, today: date) -> None:  # noqa: ARG001
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    cap = cap_of(session, municipality.id, today.year)
    if cap is None:
        session.add(CaseworkerCap(municipality_id=municipality.id, year=today.year, max_passes=DEMO_CAP))
        session.flush()
        cap = DEMO_CAP
    report.add(
        f"back office at /admin (admin and caseworker logins above); each caseworker may award {cap} passes "
        f"in {today.year}; shops apply at /merchant/signup"
    )

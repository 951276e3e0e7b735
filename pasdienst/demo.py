"""The demo data set behind ``pasdienst demo`` and ``./scripts/serve``.

Idempotent: each step checks whether its data is there before adding it, so
running it again changes nothing and prints the same logins and links.
It still adds to what is there (the wallet step issues a pass to every child
of ``demodorp`` without one), so ``./scripts/serve`` loads it only into an
empty database, and it is refused outright in production: its logins have
fixed passwords.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .access.demo import load_access_demo
from .admin.demo import load_admin_demo
from .cooperations.demo import load_cooperation_demo
from .maatwerk.demo import load_maatwerk_demo
from .redeem.demo import load_redeem_demo
from .reminders.demo import run_reminders_demo
from .settlement.demo import load_settlement_demo
from .wallet.demo import load_wallet_demo
from .config import Settings
from .db import Database
from .errors import PasdienstError
from .access.models import User
from .municipalities.models import Municipality
from .municipalities.services import add_municipality, get_municipality, set_contact, topup_budget

DEMO_MUNICIPALITY = "demodorp"
DEMO_IBAN = "NL91ABNA0417164300"
#: Whom the demo's families call about their pass (``.example``: a domain that is nobody's).
class _Contact(TypedDict):
    phone: str
    email: str
    website: str
    desk: str
    hours: str


DEMO_CONTACT: _Contact = {
    "phone": "14 0599",
    "email": "kinderpas@demodorp.example",
    "website": "https://www.demodorp.example/kinderpas",
    "desk": "Gemeentehuis, Dorpsstraat 1, Demodorp",
    "hours": "maandag t/m vrijdag 9.00-12.30 uur",
}


@dataclass
class DemoReport:
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


def _municipality(session: Session, report: DemoReport, settings: Settings, today: date) -> None:
    exists = session.execute(select(Municipality.id).where(Municipality.code == DEMO_MUNICIPALITY)).scalar()
    if exists is None:
        add_municipality(session, DEMO_MUNICIPALITY, name="Gemeente Demodorp", iban=DEMO_IBAN)
        topup_budget(
            session, DEMO_MUNICIPALITY, "50000.00", reference="Demo: rijksbijdrage kindpakket", idempotency_key="demo:topup:1"
        )
    if not get_municipality(session, DEMO_MUNICIPALITY).contact.given:  # an admin's own details stay
        set_contact(session, DEMO_MUNICIPALITY, **DEMO_CONTACT)
    report.add(f"municipality {DEMO_MUNICIPALITY} (Gemeente Demodorp), fund topped up with 50000.00")


Step = Callable[[Session, DemoReport, Settings, date], None]


def _access(session: Session, report: DemoReport, settings: Settings, today: date) -> None:
    load_access_demo(session, report)  # merchants and logins


#: Steps run in order, each in its own transaction; features append theirs.
STEPS: list[Step] = [_municipality, _access]
STEPS.append(load_wallet_demo)  # scheme, children, passes
STEPS.append(load_redeem_demo)  # payments of the past months; how to try the till
STEPS.append(load_settlement_demo)  # last month settled and paid, this month waiting
STEPS.append(load_admin_demo)  # the case workers' cap and an award, a blocked and a replaced pass
STEPS.append(load_cooperation_demo)  # demodorp and buurdorp share a club; a payment across
STEPS.append(load_maatwerk_demo)  # a gebiedsteam and a fund, each with an award for the sports club

#: Then the jobs a worker would run, each in its own transactions (they are given the database).
RUNS: list[Callable[[Database, DemoReport, Settings, date], None]] = [
    run_reminders_demo,  # buurdorp's reminder to the families who have not used the pass, sent
]


class DemoRefused(PasdienstError):
    code = "demo_refused"
    status = 409


def database_is_empty(db: Database) -> bool:
    """No municipality and no login yet: everything else hangs off these two."""
    with db.read() as session:
        return not session.execute(select(exists(select(Municipality.id)) | exists(select(User.id)))).scalar()


def refuse_in_production(settings: Settings) -> None:
    if settings.production:
        raise DemoRefused("the demo data set (fixed passwords) is refused when PASDIENST_ENV=production")


def load_demo(db: Database, settings: Settings, today: date) -> DemoReport:
    refuse_in_production(settings)
    report = DemoReport()
    for step in STEPS:
        with db.transaction() as session:
            step(session, report, settings, today)
    for run in RUNS:
        run(db, report, settings, today)
    return report

"""The demo data set behind ``pasdienst demo`` and ``./scripts/serve``.

Idempotent: each step checks whether its data is there before adding it, so
running it again changes nothing and prints the same logins and links.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access.demo import load_access_demo
from .admin.demo import load_admin_demo
from .redeem.demo import load_redeem_demo
from .wallet.demo import load_wallet_demo
from .config import Settings
from .db import Database
from .municipalities.models import Municipality
from .municipalities.services import add_municipality, topup_budget

DEMO_MUNICIPALITY = "demodorp"
DEMO_IBAN = "NL91ABNA0417164300"


@dataclass
class DemoReport:
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


def _municipality(session: Session, report: DemoReport) -> None:
    exists = session.execute(select(Municipality.id).where(Municipality.code == DEMO_MUNICIPALITY)).scalar()
    if exists is None:
        add_municipality(session, DEMO_MUNICIPALITY, name="Gemeente Demodorp", iban=DEMO_IBAN)
        topup_budget(
            session, DEMO_MUNICIPALITY, "50000.00", reference="Demo: rijksbijdrage kindpakket", idempotency_key="demo:topup:1"
        )
    report.add(f"municipality {DEMO_MUNICIPALITY} (Gemeente Demodorp), fund topped up with 50000.00")


#: Steps run in order, each in its own transaction; features append theirs.
STEPS = [_municipality]
STEPS.append(load_access_demo)  # merchants and logins
STEPS.append(load_wallet_demo)  # scheme, children, passes
STEPS.append(load_redeem_demo)  # how to try the till with the logins and passes above
STEPS.append(load_admin_demo)  # the case workers' yearly cap


def load_demo(db: Database, settings: Settings, today: date) -> DemoReport:
    report = DemoReport()
    for step in STEPS:
        with db.transaction() as session:
            if step.__code__.co_argcount == 2:
                step(session, report)
            else:
                step(session, report, settings, today)  # type: ignore[call-arg]
    return report

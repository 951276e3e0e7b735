"""The key figures of ``/admin`` and the budget page: what the municipality's staff see first."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import books
from ..access.models import AuditEvent
from ..access.policy import Actor
from ..ledger import Transfer
from ..merchants.models import IBAN_PENDING, IbanChangeRequest
from ..municipalities.services import BudgetFigures, budget_figures
from ..merchants.models import Merchant
from ..reports.usage import Reach, reach
from ..wallet.models import Child
from ..foureyes import requests
from .caps import CapStatus, cap_status
from .scope import ADMIN, CASEWORKER, municipality_of


@dataclass(frozen=True)
class TopupLine:
    at: datetime
    amount_cents: int
    reference: str | None


@dataclass(frozen=True)
class BudgetOverview:
    figures: BudgetFigures
    threshold_cents: int
    topups: list[TopupLine]

    @property
    def low(self) -> bool:
        """What is left to award has fallen under the threshold (DOMAIN.md §4: warn at threshold)."""
        return self.threshold_cents > 0 and self.figures.available < self.threshold_cents

    @property
    def awarded_share(self) -> float | None:
        return self.figures.reserved / self.figures.topped_up if self.figures.topped_up else None


def budget_overview(session: Session, actor: Actor, *, topups: int = 20) -> BudgetOverview:
    """Topped up, reserved, spent, settled, paid, returned; what is left; the latest top-ups."""
    municipality = municipality_of(session, actor, ADMIN)
    figures = budget_figures(session, municipality.code)
    rows = session.execute(
        select(Transfer.created_at, Transfer.amount, Transfer.reference)
        .where(Transfer.ledger == municipality.code, Transfer.kind == books.TOPUP)
        .order_by(Transfer.created_at.desc()).limit(topups)
    ).all()
    return BudgetOverview(figures, municipality.low_budget_threshold_cents, [TopupLine(*r) for r in rows])


@dataclass(frozen=True)
class Dashboard:
    municipality_name: str
    year: int
    children: int
    #: Children with a pass this year and those who used it: the usage report's own figures.
    reach: Reach
    pending_merchants: int
    pending_iban_changes: int
    budget: BudgetOverview | None
    #: Four-eyes requests waiting for a second admin (shown to admins only).
    pending_requests: int = 0
    recent_events: list[AuditEvent] = field(default_factory=list)
    cap: CapStatus | None = None


def dashboard(session: Session, actor: Actor, *, today: date, recent: int = 10) -> Dashboard:
    """The key figures of ``/admin``; budget and audit events only for admins."""
    municipality = municipality_of(session, actor)
    year = today.year
    children = session.execute(
        select(func.count()).select_from(Child).where(Child.municipality_id == municipality.id)
    ).scalar_one()
    # The same function as /admin/gebruik: the two pages never disagree.
    reached = reach(session, municipality.code, year)
    pending = session.execute(
        select(func.count()).select_from(Merchant)
        .where(Merchant.municipality_id == municipality.id, Merchant.status == "pending")
    ).scalar_one()
    changes = session.execute(
        select(func.count()).select_from(IbanChangeRequest)
        .where(IbanChangeRequest.municipality_id == municipality.id, IbanChangeRequest.status == IBAN_PENDING)
    ).scalar_one()
    is_admin = actor.role == ADMIN
    events = []
    if is_admin:
        events = list(session.execute(
            select(AuditEvent).where(AuditEvent.municipality_id == municipality.id)
            .order_by(AuditEvent.id.desc()).limit(recent)
        ).scalars())
    return Dashboard(
        municipality_name=municipality.name, year=year, children=children, reach=reached,
        pending_merchants=pending, pending_iban_changes=changes,
        budget=budget_overview(session, actor) if is_admin else None, recent_events=events,
        pending_requests=requests.pending_count(session, municipality.id) if is_admin else 0,
        cap=cap_status(session, actor, year) if actor.role == CASEWORKER else None,
    )

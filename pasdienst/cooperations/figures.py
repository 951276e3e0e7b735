"""What the finance staff of a member read about their cooperation's money (``/finance/samenwerking``).

Per year (the year a batch's or run's period ends in):

* **per member**: its batches that were approved (approved, exported, paid;
  drafts and cancelled batches moved no money), what they pay the merchants
  (lines the bank returned left out: they go again in a later batch), how
  much of that went to merchants of its own municipality and how much to
  fellow members' merchants, and how much is paid;
* **who pays whom**: the same money per paying member and the municipality
  of the merchant it went to, which is what a cooperation is for;
* **the batches** themselves, each member's, with the run that paid it when
  the cooperation pays;
* **the payment runs** of a cooperation that pays, with this member's share
  of each; and for the lead's finance staff, the approved batches a run
  made now would take.

Each municipality still settles and pays its own batches (or the lead's
finance pays them in a run): these figures only read. The members' batches
are money between governments, not about children, so every member's
finance staff see all members' figures.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.policy import Actor, ensure_role
from ..errors import NotFound
from ..municipalities.models import Municipality
from ..merchants.models import Merchant
from ..settlement.errors import WrongState
from ..settlement.models import APPROVED, EXPORTED, PAID, SettlementBatch
from ..settlement.queries import paying_lines
from .models import ACTIVE, PAYOUT_COOPERATION, Cooperation, CooperationRemittance, CooperationRun
from .services import CooperationView, describe, membership

#: Batches that moved money: approved and on.
SETTLED = (APPROVED, EXPORTED, PAID)


@dataclass(frozen=True)
class MemberBatch:
    code: str
    name: str
    batch_id: int
    status: str
    period_from: date | None
    period_until: date | None
    count: int
    #: What it pays the merchants: its lines less those the bank returned.
    payout_cents: int
    #: The cooperation's payment run that took it, if any.
    run_id: int | None
    #: The reader's own municipality's batch (its page can be opened).
    own: bool


@dataclass(frozen=True)
class MemberTotals:
    code: str
    name: str
    lead: bool
    batches: int
    count: int
    payout_cents: int
    #: Of ``payout_cents``: to merchants of its own municipality, and of the other members.
    own_merchants_cents: int
    fellow_merchants_cents: int
    paid_cents: int


@dataclass(frozen=True)
class RunRow:
    id: int
    status: str
    period_from: date
    period_until: date
    count: int
    total_cents: int
    created_at: datetime
    paid_at: datetime | None
    #: What the reader's municipality remitted into it.
    own_cents: int


@dataclass(frozen=True)
class FinanceOverview:
    cooperation: CooperationView
    own_code: str
    lead: bool
    pays: bool  # the cooperation pays the merchants (runs), not each member
    year: int
    members: tuple[MemberTotals, ...]
    #: (paying member code, merchant's municipality code) → cents
    flows: dict[tuple[str, str], int]
    batches: tuple[MemberBatch, ...]
    runs: tuple[RunRow, ...]
    #: The lead's finance staff: approved batches not yet in a run.
    waiting: tuple[MemberBatch, ...]

    @property
    def waiting_cents(self) -> int:
        return sum(b.payout_cents for b in self.waiting)


def own_cooperation(session: Session, actor: Actor, *, as_lead: bool = False) -> Cooperation:
    """The cooperation ``actor``'s municipality is an active member of; ``NotFound`` otherwise.

    ``as_lead``: for a step only the lead's staff take (a payment run); any
    other member's is refused by name (``cooperation_run_by_lead``), not
    just forbidden, so its finance staff read who does it.
    """
    found = membership(session, actor.municipality_id or 0)
    if found is None or found[1].status != ACTIVE:
        raise NotFound("this municipality is not a member of a cooperation")
    cooperation = found[0]
    if as_lead and cooperation.lead_municipality_id != actor.municipality_id:
        lead = session.get(Municipality, cooperation.lead_municipality_id)
        raise WrongState(
            f"only the finance users of the lead {lead.code if lead else '?'} make a payment run of cooperation "
            f"{cooperation.code}",
            refusal="cooperation_run_by_lead", lead=lead.name if lead else "", cooperation=cooperation.name,
        )
    return cooperation


def leads(session: Session, actor: Actor, cooperation_code: str) -> bool:
    """Whether ``actor``'s municipality is the lead (penvoerder) of the cooperation."""
    cooperation = session.execute(select(Cooperation).where(Cooperation.code == cooperation_code)).scalar_one_or_none()
    return cooperation is not None and cooperation.lead_municipality_id == actor.municipality_id


def finance_overview(session: Session, actor: Actor, year: int) -> FinanceOverview | None:
    """The cooperation of ``actor``'s municipality as its finance staff see it; None outside any (or only invited)."""
    ensure_role(actor, "finance")
    found = membership(session, actor.municipality_id or 0)
    if found is None or found[1].status != ACTIVE:
        return None
    cooperation, _ = found
    view = describe(session, cooperation.code)
    members = {m.code: m for m in view.members if m.status == ACTIVE}
    ids = dict(
        session.execute(select(Municipality.id, Municipality.code).where(Municipality.code.in_(list(members)))).all()
    )
    first, last = date(year, 1, 1), date(year, 12, 31)
    batches = list(
        session.execute(
            select(SettlementBatch, CooperationRemittance.run_id)
            .outerjoin(CooperationRemittance, CooperationRemittance.batch_id == SettlementBatch.id)
            .where(
                SettlementBatch.municipality_id.in_(list(ids)), SettlementBatch.status.in_(SETTLED),
                SettlementBatch.period_until >= first, SettlementBatch.period_until <= last,
            )
            .order_by(SettlementBatch.id.desc())
        ).all()
    )
    # What each batch pays, per municipality of the merchant: lines the bank returned are not paid by it.
    per_batch: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lines = paying_lines(session, [b.id for b, _ in batches])
    homes = dict(session.execute(
        select(Merchant.id, Merchant.municipality_id).where(Merchant.id.in_(sorted({line.merchant_id for line in lines})))
    ).all()) if lines else {}
    for line in lines:
        home_id = homes[line.merchant_id]
        per_batch[line.batch_id][ids.get(home_id) or _code(session, home_id)] += line.total_cents
    own_code = actor.municipality_code or ""
    rows: list[MemberBatch] = []
    flows: dict[tuple[str, str], int] = defaultdict(int)
    for batch, run_id in batches:
        code = ids[batch.municipality_id]
        for home, cents in per_batch[batch.id].items():
            flows[(code, home)] += cents
        rows.append(MemberBatch(
            code, members[code].name, batch.id, batch.status, batch.period_from, batch.period_until, batch.count,
            sum(per_batch[batch.id].values()), run_id, code == own_code,
        ))
    totals = []
    for member in members.values():
        own = [b for b in rows if b.code == member.code]
        payout = sum(b.payout_cents for b in own)
        at_home = sum(per_batch[b.batch_id].get(member.code, 0) for b in own)
        totals.append(MemberTotals(
            member.code, member.name, member.lead, len(own), sum(b.count for b in own), payout, at_home,
            payout - at_home, sum(b.payout_cents for b in own if b.status == PAID),
        ))
    lead = cooperation.lead_municipality_id == actor.municipality_id
    pays = cooperation.payout == PAYOUT_COOPERATION
    waiting = tuple(b for b in rows if b.status == APPROVED and b.run_id is None) if lead and pays else ()
    return FinanceOverview(
        view, own_code, lead, pays, year, tuple(totals), dict(flows), tuple(rows),
        _runs(session, cooperation, actor.municipality_id or 0, first, last), waiting,
    )


def _code(session: Session, municipality_id: int) -> str:
    # A merchant of a former member: its lines still count, under its own municipality.
    municipality = session.get(Municipality, municipality_id)
    return municipality.code if municipality is not None else str(municipality_id)


def _runs(session: Session, cooperation: Cooperation, municipality_id: int, first: date, last: date) -> tuple[RunRow, ...]:
    own = (
        select(CooperationRemittance.run_id, func.sum(CooperationRemittance.amount_cents).label("cents"))
        .where(CooperationRemittance.municipality_id == municipality_id)
        .group_by(CooperationRemittance.run_id)
        .subquery()
    )
    return tuple(
        RunRow(run.id, run.status, run.period_from, run.period_until, run.count, run.total_cents, run.created_at,
               run.paid_at, int(cents or 0))
        for run, cents in session.execute(
            select(CooperationRun, own.c.cents)
            .outerjoin(own, own.c.run_id == CooperationRun.id)
            .where(CooperationRun.cooperation_id == cooperation.id, CooperationRun.period_until >= first,
                   CooperationRun.period_until <= last)
            .order_by(CooperationRun.id.desc())
        ).all()
    )

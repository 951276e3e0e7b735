"""A child's history for the back office: its passes, vouchers with balances, payments, and who did what.

A read model over the wallet, the redemptions and the audit log (``/admin/kinderen/<id>``,
the reissue page's preview); it writes nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import labels as dutch
from ..access.models import AuditEvent, User
from ..access.policy import Actor
from ..config import Settings
from ..ledger import Account
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..wallet import labels, tokens
from ..wallet.models import ACTIVE, BLOCKED, EXPIRED, PUNCHCARD, Child, ChildPass, Voucher
from .models import CaseworkerAward
from .scope import ADMIN, own_child, own_pass, staff


@dataclass(frozen=True)
class VoucherLine:
    id: int
    title: str
    kind: str
    category: str
    initial_cents: int
    balance_cents: int
    strips_left: int | None
    strips_total: int | None
    valid_until: date
    carried_over: bool


@dataclass(frozen=True)
class PassLine:
    id: int
    number: str
    year: int
    generation: int
    status: str
    valid_from: date
    valid_until: date
    award_basis: str
    award_share: int
    created_at: datetime
    blocked_at: datetime | None
    block_reason: str | None
    replaces: str | None
    vouchers: list[VoucherLine]
    #: The holder's address token (for the letter link), on a pass that still works.
    token: str | None = None

    @property
    def can_block(self) -> bool:
        return self.status == ACTIVE

    @property
    def can_reissue(self) -> bool:
        return self.status in (ACTIVE, BLOCKED)

    @property
    def total_balance_cents(self) -> int:
        return sum(v.balance_cents for v in self.vouchers)


@dataclass(frozen=True)
class RedemptionLine:
    id: int
    at: datetime
    receipt_no: str
    merchant_name: str
    pass_number: str
    voucher_title: str
    amount_cents: int
    strips: int | None
    voided_at: datetime | None


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    what: str
    by: str | None = None


@dataclass(frozen=True)
class ChildDetail:
    id: int
    child_ref: str
    first_name: str
    birth_date: date
    household_ref: str | None
    postcode: str | None
    override_reason: str | None
    has_bsn: bool
    passes: list[PassLine]
    redemptions: list[RedemptionLine]
    history: list[HistoryLine]
    awarded_by: str | None = None


def child_history(session: Session, actor: Actor, child_id: int, *, settings: Settings | None = None) -> ChildDetail:
    """A child with its passes, vouchers (with balances), redemptions (with merchant names) and history."""
    staff(actor)
    child = own_child(session, actor, child_id)
    passes = session.execute(
        select(ChildPass).where(ChildPass.child_id == child.id).order_by(ChildPass.year.desc(), ChildPass.generation.desc())
    ).scalars().all()
    pass_ids = [p.id for p in passes]
    numbers = {p.id: p.pass_number for p in passes}
    vouchers_by_pass: dict[int, list[VoucherLine]] = {}
    titles: dict[int, str] = {}
    if pass_ids:
        for voucher, balance in session.execute(
            select(Voucher, Account.balance).join(Account, Account.id == Voucher.account_id)
            .where(Voucher.pass_id.in_(pass_ids)).order_by(Voucher.id)
        ):
            strip = voucher.strip_value_cents if voucher.kind == PUNCHCARD else None
            title = labels.voucher_title(voucher.kind, voucher.category, voucher.code)
            titles[voucher.id] = title
            vouchers_by_pass.setdefault(voucher.pass_id, []).append(
                VoucherLine(
                    id=voucher.id, title=title, kind=voucher.kind, category=voucher.category,
                    initial_cents=voucher.initial_cents, balance_cents=int(balance),
                    strips_left=int(balance) // strip if strip else None,
                    strips_total=voucher.initial_cents // strip if strip else None,
                    valid_until=voucher.valid_until, carried_over=voucher.carried_from_id is not None,
                )
            )
    pass_lines = [
        PassLine(
            id=p.id, number=p.pass_number, year=p.year, generation=p.generation, status=p.status,
            valid_from=p.valid_from, valid_until=p.valid_until, award_basis=p.award_basis,
            award_share=p.award_share, created_at=p.created_at, blocked_at=p.blocked_at,
            block_reason=p.block_reason, replaces=numbers.get(p.replaces_id) if p.replaces_id else None,
            vouchers=vouchers_by_pass.get(p.id, []),
            token=tokens.token_for(settings, p.handle) if settings is not None and p.status == ACTIVE else None,
        )
        for p in passes
    ]
    redemptions: list[RedemptionLine] = []
    if pass_ids:
        for redemption, merchant_name in session.execute(
            select(Redemption, Merchant.name).join(Merchant, Merchant.id == Redemption.merchant_id)
            .where(Redemption.pass_id.in_(pass_ids)).order_by(Redemption.id.desc())
        ):
            redemptions.append(
                RedemptionLine(
                    id=redemption.id, at=redemption.created_at, receipt_no=redemption.receipt_no,
                    merchant_name=merchant_name, pass_number=numbers[redemption.pass_id],
                    voucher_title=titles.get(redemption.voucher_id, ""), amount_cents=redemption.amount_cents,
                    strips=redemption.strips, voided_at=redemption.voided_at,
                )
            )
    history = _history(session, child, passes, redemptions)
    awarded_by = session.execute(
        select(User.email).join(CaseworkerAward, CaseworkerAward.user_id == User.id)
        .where(CaseworkerAward.child_id == child.id).order_by(CaseworkerAward.id.desc()).limit(1)
    ).scalar()
    return ChildDetail(
        id=child.id, child_ref=child.child_ref, first_name=child.first_name, birth_date=child.birth_date,
        household_ref=child.household_ref, postcode=child.postcode, override_reason=child.override_reason,
        has_bsn=child.bsn_hash is not None, passes=pass_lines, redemptions=redemptions, history=history,
        awarded_by=awarded_by,
    )


def _history(
    session: Session, child: Child, passes: Iterable[ChildPass], redemptions: list[RedemptionLine]
) -> list[HistoryLine]:
    """What happened to the child's passes, newest first; staff actions with who did them."""
    passes = list(passes)
    lines: list[HistoryLine] = []
    # A pass's events name it by its pass number; events written before that
    # named it by its row id, and the append-only log keeps them so.
    entity_ids = [ref for p in passes for ref in (p.pass_number, str(p.id))]
    audited: dict[tuple[str, str], str] = {}
    events = session.execute(
        select(AuditEvent).where(
            AuditEvent.municipality_id == child.municipality_id,
            ((AuditEvent.entity_type == "pass") & AuditEvent.entity_id.in_(entity_ids or ["-"]))
            | ((AuditEvent.entity_type == "child") & (AuditEvent.entity_id == str(child.id))),
        ).order_by(AuditEvent.id)
    ).scalars().all()
    reissues: dict[str, AuditEvent] = {}
    for event in events:
        audited[(event.action, event.entity_id or "")] = event.actor_email
        if event.action == "pass.reissue" and event.entity_id:
            reissues[event.entity_id] = event
    for p in passes:
        if p.generation == 1:
            lines.append(HistoryLine(p.created_at, f"Pas {p.pass_number} uitgegeven ({dutch.BASIS_TITLES.get(p.award_basis, p.award_basis)})",
                                     _audited_by(audited, "pass.issue", p)))
        else:
            reissue = reissues.get(p.pass_number)
            why = f" (reden: {dutch.reissue_reason(reissue.after.get('reason'), reissue.after.get('note'))})" \
                if reissue is not None and reissue.after and reissue.after.get("reason") else ""
            lines.append(HistoryLine(p.created_at, f"Vervangende pas {p.pass_number} gemaakt, tegoed overgezet{why}",
                                     _audited_by(audited, "pass.reissue", p)))
        if p.blocked_at is not None:
            lines.append(HistoryLine(p.blocked_at, f"Pas {p.pass_number} geblokkeerd: {p.block_reason}",
                                     _audited_by(audited, "pass.block", p)))
        if p.expired_at is not None:
            lines.append(HistoryLine(p.expired_at, f"Pas {p.pass_number} verlopen"))
    for event in events:
        if event.entity_type == "child":
            lines.append(HistoryLine(event.at, dutch.audit_action(event.action), event.actor_email))
    for r in redemptions:
        amount = f"{r.strips} strip(pen)" if r.strips else labels.euros(r.amount_cents)
        lines.append(HistoryLine(r.at, f"Betaald bij {r.merchant_name}: {amount} ({r.voucher_title}, bon {r.receipt_no})"))
        if r.voided_at is not None:
            lines.append(HistoryLine(r.voided_at, f"Betaling bon {r.receipt_no} geannuleerd door {r.merchant_name}"))
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines


def _audited_by(audited: dict[tuple[str, str], str], action: str, child_pass: ChildPass) -> str | None:
    return audited.get((action, child_pass.pass_number)) or audited.get((action, str(child_pass.id)))


@dataclass(frozen=True)
class ReissuePreview:
    """What the reissue page shows before the admin confirms: the pass, its child, what carries over."""

    pass_id: int
    number: str
    status: str
    valid_until: date
    child_id: int
    first_name: str
    child_ref: str
    vouchers: list[VoucherLine]

    @property
    def can_reissue(self) -> bool:
        return self.status in (ACTIVE, BLOCKED)


def reissue_preview(session: Session, actor: Actor, pass_id: int, *, today: date) -> ReissuePreview:
    """The pass an admin is about to reissue, with the balances that would move to the new one."""
    staff(actor, ADMIN)
    child_pass = own_pass(session, actor, pass_id)
    child = session.get(Child, child_pass.child_id)
    assert child is not None
    detail = child_history(session, actor, child.id)
    line = next(p for p in detail.passes if p.id == child_pass.id)
    status = child_pass.status if today <= child_pass.valid_until else EXPIRED
    return ReissuePreview(
        child_pass.id, child_pass.pass_number, status, child_pass.valid_until, child.id, child.first_name,
        child.child_ref, line.vouchers,
    )

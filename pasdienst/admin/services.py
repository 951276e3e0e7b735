"""The back office's services: each takes a session and the acting staff member.

They flush and never commit (the page owns the transaction), check the role
and the municipality themselves, answer ``NotFound`` for another
municipality's records, and write an audit event with every change. Their
messages are Dutch: only the pages call them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import books
from .. import labels as dutch
from ..access.models import AuditEvent, User
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_role, same_hands
from ..access.users import create_login
from ..banking import normalise_iban
from ..clock import now_utc
from ..config import Settings
from ..errors import Conflict, NotFound, ValidationFailed
from ..ledger.models import Account, Transfer
from ..money import OTHER_DIGITS, InvalidAmount, parse_euros, positive_cents
from ..municipalities.models import Municipality
from ..municipalities.services import BudgetFigures, budget_figures, topup_budget
from ..merchants.records import (
    add_merchant,
    clean_merchant_name,
    get_merchant,
    merchant_snapshot,
    rename_merchant,
    set_merchant_status,
)
from ..redeem.models import CATEGORIES, Merchant, Redemption
from ..reports.usage import Reach, reach
from ..wallet import labels, tokens
from ..wallet.children import ImportResult, import_children
from ..wallet.errors import ImportFileInvalid, PassNotFound, PassStateConflict
from ..wallet.issuing import SHORT_VALIDITY_DAYS
from ..wallet.lifecycle import block_pass, find_pass, reissue_pass
from ..wallet.models import (
    ACTIVE,
    BLOCKED,
    EXPIRED,
    PUNCHCARD,
    REISSUE_REASONS,
    Child,
    ChildPass,
    Scheme,
    Voucher,
)
from ..wallet.services import issue_for_child, register_child
from ..wallet.schemes import LoadResult, load_scheme, parse_scheme
from . import requests
from .errors import CapReached, SecondAdminRequired
from .models import (
    IBAN_CANCELLED,
    IBAN_CONFIRMED,
    IBAN_PENDING,
    CaseworkerAward,
    CaseworkerCap,
    FourEyesRequest,
    IbanChangeRequest,
)

ADMIN = "admin"
CASEWORKER = "caseworker"
#: Roles a staff member may give another through the users page.


# -- scope -------------------------------------------------------------------

def _staff(actor: Actor, *roles: str) -> int:
    """The actor's municipality id, after checking the role."""
    ensure_role(actor, *(roles or (ADMIN, CASEWORKER)))
    if actor.municipality_id is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    return actor.municipality_id


def _municipality(session: Session, actor: Actor, *roles: str) -> Municipality:
    municipality = session.get(Municipality, _staff(actor, *roles))
    if municipality is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    return municipality


def _own_child(session: Session, actor: Actor, child_id: int) -> Child:
    child = session.get(Child, child_id) if isinstance(child_id, int) else None
    # Another municipality's child is "not found": its existence stays private.
    if child is None or child.municipality_id != actor.municipality_id:
        raise NotFound("no such child in this municipality", refusal="child_not_found")
    return child


def _own_pass(session: Session, actor: Actor, pass_ref: str | int, *, for_update: bool = False) -> ChildPass:
    try:
        child_pass = find_pass(session, str(pass_ref), for_update=for_update)
    except (PassNotFound, ValidationFailed):
        raise NotFound(f"pass {pass_ref} not found", refusal="pass_not_found", pass_ref=str(pass_ref)) from None
    if child_pass.municipality_id != actor.municipality_id:
        raise NotFound(f"pass {pass_ref} not found", refusal="pass_not_found", pass_ref=str(pass_ref))
    return child_pass


def _own_merchant(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    try:
        merchant = get_merchant(session, merchant_id)
    except NotFound:
        raise NotFound("no such merchant in this municipality", refusal="merchant_not_found") from None
    if merchant.municipality_id != actor.municipality_id:
        raise NotFound("no such merchant in this municipality", refusal="merchant_not_found")
    return merchant


# -- children ----------------------------------------------------------------

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


_BASIS_NL = {"full": "volledig", "sliding": "glijdende schaal", "override": "besluit consulent"}
_ACTION_NL = {
    "pass.block": "Pas geblokkeerd",
    "pass.reissue": "Vervangende pas gemaakt",
    "pass.issue": "Pas uitgegeven",
    "child.register": "Kind aangemeld",
}


def child_history(session: Session, actor: Actor, child_id: int, *, settings: Settings | None = None) -> ChildDetail:
    """A child with its passes, vouchers (with balances), redemptions (with merchant names) and history."""
    _staff(actor)
    child = _own_child(session, actor, child_id)
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
            lines.append(HistoryLine(p.created_at, f"Pas {p.pass_number} uitgegeven ({_BASIS_NL.get(p.award_basis, p.award_basis)})",
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
            lines.append(HistoryLine(event.at, _ACTION_NL.get(event.action, event.action), event.actor_email))
    for r in redemptions:
        amount = f"{r.strips} strip(pen)" if r.strips else labels.euros(r.amount_cents)
        lines.append(HistoryLine(r.at, f"Betaald bij {r.merchant_name}: {amount} ({r.voucher_title}, bon {r.receipt_no})"))
        if r.voided_at is not None:
            lines.append(HistoryLine(r.voided_at, f"Betaling bon {r.receipt_no} geannuleerd door {r.merchant_name}"))
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines


def _audited_by(audited: dict[tuple[str, str], str], action: str, child_pass: ChildPass) -> str | None:
    return audited.get((action, child_pass.pass_number)) or audited.get((action, str(child_pass.id)))


def block_child_pass(session: Session, actor: Actor, pass_ref: str | int, *, reason: str) -> ChildPass:
    """Block a lost or stolen pass of the admin's municipality, with a reason."""
    _staff(actor, ADMIN)
    child_pass = _own_pass(session, actor, pass_ref)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("give a reason to block the pass", refusal="pass_block_reason_missing")
    if len(reason) > 500:
        raise ValidationFailed("the reason is longer than 500 characters", refusal="reason_too_long", limit=500)
    try:
        blocked = block_pass(session, child_pass.pass_number, reason=reason, actor=actor)
    except PassStateConflict:
        raise PassStateConflict(f"pass {child_pass.pass_number} is not active: it cannot be blocked", refusal="pass_not_blockable",
                                pass_ref=child_pass.pass_number) from None
    return blocked


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
    _staff(actor, ADMIN)
    child_pass = _own_pass(session, actor, pass_id)
    child = session.get(Child, child_pass.child_id)
    assert child is not None
    detail = child_history(session, actor, child.id)
    line = next(p for p in detail.passes if p.id == child_pass.id)
    status = child_pass.status if today <= child_pass.valid_until else EXPIRED
    return ReissuePreview(
        child_pass.id, child_pass.pass_number, status, child_pass.valid_until, child.id, child.first_name,
        child.child_ref, line.vouchers,
    )


def reissue_child_pass(
    session: Session, actor: Actor, pass_ref: str | int, *, reason: str, note: str = "", settings: Settings,
    today: date,
) -> ChildPass:
    """A new pass for the same child with the remaining balances carried over; the old one stops.

    ``reason`` is one of ``REISSUE_REASONS`` (``other`` needs ``note``); both
    go into the audit event.
    """
    _staff(actor, ADMIN)
    old = _own_pass(session, actor, pass_ref)
    reason = (reason or "").strip()
    note = " ".join((note or "").split())
    if reason not in REISSUE_REASONS:
        raise ValidationFailed("choose why the pass is replaced", refusal="reissue_reason_missing")
    if reason == "other" and not note:
        raise ValidationFailed("say in a few words why the pass is replaced", refusal="reissue_note_missing")
    if len(note) > 500:
        raise ValidationFailed("the note is longer than 500 characters", refusal="note_too_long", limit=500)
    try:
        new = reissue_pass(session, old.pass_number, settings=settings, today=today, actor=actor, reason=reason,
                           note=note or None)
    except PassStateConflict:
        raise PassStateConflict(f"pass {old.pass_number} is {old.status}: it cannot be reissued",
                                refusal="pass_not_reissuable", pass_ref=old.pass_number, status=old.status) from None
    return new




# -- import and scheme -------------------------------------------------------

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def import_children_file(
    session: Session, actor: Actor, data: bytes, *, settings: Settings, today: date, dry_run: bool = False,
    file_name: str | None = None,
) -> ImportResult:
    """The children CSV through the page: the same service and rules as ``pasdienst children import``."""
    municipality = _municipality(session, actor, ADMIN)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportFileInvalid(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", refusal="import_too_large",
                                limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024))
    return import_children(
        session, municipality.code, data, settings=settings, today=today, dry_run=dry_run, file_name=file_name,
        actor=actor,
    )


def load_scheme_text(session: Session, actor: Actor, text: str) -> LoadResult:
    """Create or update the municipality's scheme for a year from TOML text (CONTRACT.md format)."""
    municipality = _municipality(session, actor, ADMIN)
    spec = parse_scheme(text)  # every problem at once, before anything is read or written
    if spec.municipality != municipality.code:
        raise ValidationFailed(f"this scheme file is for municipality {spec.municipality!r}, not {municipality.code!r}",
                               refusal="scheme_other_municipality", file_code=spec.municipality, code=municipality.code)
    return load_scheme(session, text, actor=actor)


def schemes_of(session: Session, actor: Actor) -> list[Scheme]:
    """The municipality's schemes, newest year first, with their items loaded."""
    municipality_id = _staff(actor)
    schemes = session.execute(
        select(Scheme).where(Scheme.municipality_id == municipality_id).order_by(Scheme.year.desc())
    ).scalars().all()
    for scheme in schemes:
        list(scheme.items)  # load them inside the session
    return list(schemes)


# -- budget ------------------------------------------------------------------

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
    municipality = _municipality(session, actor, ADMIN)
    figures = budget_figures(session, municipality.code)
    rows = session.execute(
        select(Transfer.created_at, Transfer.amount, Transfer.reference)
        .where(Transfer.ledger == municipality.code, Transfer.kind == books.TOPUP)
        .order_by(Transfer.created_at.desc()).limit(topups)
    ).all()
    return BudgetOverview(figures, municipality.low_budget_threshold_cents, [TopupLine(*r) for r in rows])


def _euros_nl(text: str, what: str, *, positive: bool) -> int:
    """Cents from a euro amount a person typed (``what`` names it in the English message)."""
    try:
        return positive_cents(text) if positive else parse_euros(text)
    except InvalidAmount as exc:
        if exc.details.get("reason") == OTHER_DIGITS:
            raise ValidationFailed(f"{what} {text!r} has digits other than 0-9", refusal="amount_other_digits",
                                   text=text) from None
        raise ValidationFailed(f"{what} {text!r} is not an amount in euros", refusal="amount_not_euros",
                               text=text) from None


def topup(session: Session, actor: Actor, amount: str, *, reference: str, idempotency_key: str | None = None) -> int:
    """Money from the external source into the fund; ``amount`` as typed (``2500,00``). Returns the cents.

    The form's one-off key makes a double click or a resubmitted form top up once.
    """
    municipality = _municipality(session, actor, ADMIN)
    cents = _euros_nl(amount, "the amount", positive=True)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed("give a reference for the top-up", refusal="topup_reference_missing")
    if len(reference) > 200:
        raise ValidationFailed("the reference is longer than 200 characters", refusal="topup_reference_too_long", limit=200)
    key = f"admin:topup:{municipality.code}:{idempotency_key}"[:200] if idempotency_key else None
    topup_budget(session, municipality.code, cents, reference=reference, idempotency_key=key, actor=actor)
    return cents


def set_budget_threshold(session: Session, actor: Actor, amount: str) -> int:
    """The level under which the budget page and the dashboard warn; ``0`` switches the warning off."""
    municipality = _municipality(session, actor, ADMIN)
    cents = _euros_nl(amount, "the threshold", positive=False)
    before = municipality.low_budget_threshold_cents
    if before != cents:
        municipality.low_budget_threshold_cents = cents
        session.flush()
        record_audit(
            session, actor, "municipality.budget_threshold", "municipality", municipality.id,
            before={"low_budget_threshold_cents": before}, after={"low_budget_threshold_cents": cents},
        )
    return cents


# -- merchants ---------------------------------------------------------------

@dataclass(frozen=True)
class MerchantRow:
    merchant: Merchant
    logins: list[str]
    pending_change: IbanChangeRequest | None
    pending_change_by: str | None
    #: Who asked for its approval, while a second admin has not confirmed it.
    approval_requested_by: str | None = None

    @property
    def categories(self) -> list[str]:
        return sorted(self.merchant.category_set, key=CATEGORIES.index)


def merchants_overview(session: Session, actor: Actor) -> list[MerchantRow]:
    """Every merchant of the municipality: pending ones first, then by name."""
    municipality_id = _staff(actor, ADMIN)
    merchants = session.execute(
        select(Merchant).where(Merchant.municipality_id == municipality_id).order_by(Merchant.name, Merchant.id)
    ).scalars().all()
    logins: dict[int, list[str]] = {}
    for merchant_id, email in session.execute(
        select(User.merchant_id, User.email).where(User.municipality_id == municipality_id, User.merchant_id.is_not(None))
        .order_by(User.email)
    ):
        logins.setdefault(merchant_id, []).append(email)
    changes: dict[int, tuple[IbanChangeRequest, str]] = {}
    for change, email in session.execute(
        select(IbanChangeRequest, User.email).join(User, User.id == IbanChangeRequest.requested_by_user_id)
        .where(IbanChangeRequest.municipality_id == municipality_id, IbanChangeRequest.status == IBAN_PENDING)
    ):
        changes[change.merchant_id] = (change, email)
    approvals = dict(session.execute(
        select(FourEyesRequest.merchant_id, User.email).join(User, User.id == FourEyesRequest.requested_by_user_id)
        .where(FourEyesRequest.municipality_id == municipality_id, FourEyesRequest.status == "pending",
               FourEyesRequest.kind == "merchant.approve")
    ).all())
    order = {"pending": 0, "approved": 1, "suspended": 2}
    rows = [
        MerchantRow(m, logins.get(m.id, []), *(changes.get(m.id) or (None, None)), approvals.get(m.id))
        for m in merchants
    ]
    rows.sort(key=lambda r: (order.get(r.merchant.status, 3), r.merchant.name.lower()))
    return rows


def add_merchant_by_admin(
    session: Session, actor: Actor, *, name: str, categories: Iterable[str], iban: str, bic: str | None = None,
    kvk_number: str | None = None, address: str | None = None, contact_email: str | None = None,
) -> tuple[Merchant, FourEyesRequest | None]:
    """A new merchant, ``pending`` until a second admin confirms its approval (its IBAN is a payee)."""
    municipality = _municipality(session, actor, ADMIN)
    account = normalise_iban(iban, bic)
    _check_merchant_fields(name, categories, kvk_number, contact_email, required=False)
    try:
        return requests.add_merchant_for_approval(
            session, actor, municipality.code, name=name, categories=list(categories), iban=account.iban,
            bic=account.bic, kvk_number=kvk_number, address=address, contact_email=contact_email,
        )
    except Conflict:
        raise Conflict(f"a merchant is already called {' '.join(name.split())!r}", refusal="merchant_name_taken",
                       name=" ".join(name.split())) from None


_KVK = re.compile(r"^\d{8}$")
_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]{2,}$")


def _check_merchant_fields(
    name: str, categories: Iterable[str], kvk_number: str | None, contact_email: str | None, *, required: bool
) -> None:
    """The checks of ``add_merchant``, first and in Dutch (that service speaks English to the CLI)."""
    _dutch_name(name)
    chosen = [c for c in categories if c]
    if not chosen:
        raise ValidationFailed("choose at least one category", refusal="categories_missing")
    if any(c not in CATEGORIES for c in chosen):
        raise ValidationFailed("unknown category", refusal="category_unknown")
    kvk = (kvk_number or "").replace(" ", "")
    if required and not kvk:
        raise ValidationFailed("the KvK number is missing", refusal="kvk_missing")
    if kvk and not _KVK.match(kvk):
        raise ValidationFailed("a KvK number has 8 digits", refusal="kvk_invalid")
    email = (contact_email or "").strip()
    if required and not email:
        raise ValidationFailed("a contact e-mail address is needed", refusal="contact_email_missing")
    if email and (len(email) > 254 or not _EMAIL.match(email.lower())):
        raise ValidationFailed(f"{email!r} is not an e-mail address", refusal="email_address_invalid", email=email)


def _dutch_name(name: str) -> str:
    """``clean_merchant_name``, the one name rule."""
    return clean_merchant_name(name)


def rename(session: Session, actor: Actor, merchant_id: int, name: str) -> Merchant:
    """Give a merchant of the admin's municipality another name (audit event ``merchant.rename``)."""
    _staff(actor, ADMIN)
    merchant = _own_merchant(session, actor, merchant_id)
    cleaned = _dutch_name(name)
    try:
        return rename_merchant(session, merchant.id, cleaned, actor=actor)
    except Conflict:
        raise Conflict(f"a merchant is already called {cleaned!r}", refusal="merchant_name_taken", name=cleaned) from None


#: The audit log's name for a merchant's own application at /merchant/signup.
SIGNUP_ACTOR = Actor(user_id=None, email="aanmelding", role="system", municipality_id=None, municipality_code=None)


def signup_merchant(
    session: Session, municipality_code: str, *, name: str, kvk_number: str, address: str,
    categories: Iterable[str], iban: str, contact_email: str,
) -> Merchant:
    """A shop or club applies itself: a ``pending`` merchant that an admin approves (or not)."""
    municipality = session.execute(
        select(Municipality).where(Municipality.code == (municipality_code or "").strip().lower())
    ).scalar_one_or_none()
    if municipality is None:
        raise ValidationFailed("choose a municipality", refusal="signup_municipality_missing")
    _check_merchant_fields(name, categories, kvk_number, contact_email, required=True)
    if not (address or "").strip():
        raise ValidationFailed("the address is missing", refusal="address_missing")
    if len(address.strip()) > 300:
        raise ValidationFailed("the address is longer than 300 characters", refusal="address_too_long", limit=300)
    account = normalise_iban(iban)
    try:
        return add_merchant(
            session, municipality.code, name=name, categories=list(categories), iban=account.iban, bic=account.bic,
            status="pending", kvk_number=kvk_number, address=address, contact_email=contact_email,
            actor=SIGNUP_ACTOR,
        )
    except Conflict:
        raise Conflict(f"a merchant called {' '.join(name.split())!r} already signed up here", refusal="signup_name_taken",
                       name=" ".join(name.split())) from None


def set_status(
    session: Session, actor: Actor, merchant_id: int, status: str
) -> tuple[Merchant, FourEyesRequest | None]:
    """Suspend a merchant at once, or ask for its approval (or reinstatement), which a second admin confirms."""
    _staff(actor, ADMIN)
    merchant = _own_merchant(session, actor, merchant_id)
    if status not in ("approved", "suspended"):
        raise ValidationFailed("a merchant can only be approved or suspended", refusal="merchant_status_unknown")
    if status == "approved":
        return merchant, requests.request_merchant_approval(session, actor, merchant)
    return set_merchant_status(session, merchant.id, status, actor=actor), None


def _change_snapshot(change: IbanChangeRequest) -> dict[str, Any]:
    return {"merchant_id": change.merchant_id, "old_iban": change.old_iban, "iban": change.iban,
            "bic": change.bic, "status": change.status}


def request_iban_change(
    session: Session, actor: Actor, merchant_id: int, iban: str, bic: str | None = None
) -> IbanChangeRequest:
    """Ask for a new IBAN; it applies only when a second admin confirms (the merchant keeps its old one until then).

    A newer request replaces a pending one (which is cancelled).
    """
    _staff(actor, ADMIN)
    if actor.user_id is None:
        raise SecondAdminRequired("an IBAN change needs a signed-in admin", refusal="iban_change_needs_admin")
    merchant = _own_merchant(session, actor, merchant_id)
    session.execute(select(Merchant.id).where(Merchant.id == merchant.id).with_for_update())
    account = normalise_iban(iban, bic)
    if account.iban == merchant.iban:
        raise ValidationFailed("this already is the merchant's IBAN", refusal="iban_unchanged")
    now = now_utc()
    for old in session.execute(
        select(IbanChangeRequest).where(IbanChangeRequest.merchant_id == merchant.id, IbanChangeRequest.status == IBAN_PENDING)
    ).scalars():
        old.status, old.decided_by_user_id, old.decided_at = IBAN_CANCELLED, actor.user_id, now
        record_audit(session, actor, "merchant.iban_change_cancel", "iban_change", old.id, after=_change_snapshot(old))
    change = IbanChangeRequest(
        municipality_id=merchant.municipality_id, merchant_id=merchant.id, old_iban=merchant.iban,
        old_bic=merchant.bic, iban=account.iban, bic=account.bic, status=IBAN_PENDING,
        requested_by_user_id=actor.user_id, requested_at=now,
    )
    session.add(change)
    session.flush()
    record_audit(session, actor, "merchant.iban_change_request", "iban_change", change.id, after=_change_snapshot(change))
    return change


def _own_change(session: Session, actor: Actor, change_id: int) -> IbanChangeRequest:
    change = session.get(IbanChangeRequest, change_id, with_for_update=True) if isinstance(change_id, int) else None
    if change is None or change.municipality_id != actor.municipality_id:
        raise NotFound("no such IBAN change", refusal="iban_change_not_found")
    if change.status != IBAN_PENDING:
        raise Conflict("this IBAN change was already decided", refusal="iban_change_decided")
    return change


def confirm_iban_change(session: Session, actor: Actor, change_id: int) -> Merchant:
    """A second admin confirms: the merchant is paid to the new IBAN from the next settlement approval on."""
    _staff(actor, ADMIN)
    change = _own_change(session, actor, change_id)
    if same_hands(session, actor.user_id, change.requested_by_user_id):
        raise SecondAdminRequired("another admin, outside the requester's lineage, must confirm this IBAN change",
                                  refusal="iban_change_four_eyes")
    merchant = _own_merchant(session, actor, change.merchant_id)
    if merchant.iban != change.old_iban:
        raise Conflict("the merchant's IBAN changed meanwhile; ask again", refusal="iban_changed_meanwhile")
    before = merchant_snapshot(merchant)
    merchant.iban, merchant.bic = change.iban, change.bic
    change.status, change.decided_by_user_id, change.decided_at = IBAN_CONFIRMED, actor.user_id, now_utc()
    session.flush()
    record_audit(
        session, actor, "merchant.iban_change_confirm", "merchant", merchant.id,
        before=before, after={**merchant_snapshot(merchant), "iban_change": change.id},
    )
    return merchant


def cancel_iban_change(session: Session, actor: Actor, change_id: int) -> IbanChangeRequest:
    """Withdraw (the requester) or reject (another admin) a pending change."""
    _staff(actor, ADMIN)
    change = _own_change(session, actor, change_id)
    change.status, change.decided_by_user_id, change.decided_at = IBAN_CANCELLED, actor.user_id, now_utc()
    session.flush()
    record_audit(session, actor, "merchant.iban_change_cancel", "iban_change", change.id, after=_change_snapshot(change))
    return change


def create_merchant_login(
    session: Session, actor: Actor, merchant_id: int, email: str | None = None
) -> tuple[User, str]:
    """A login for an approved merchant (its contact address unless another is given); the one-time password."""
    _staff(actor, ADMIN)
    merchant = _own_merchant(session, actor, merchant_id)
    if not merchant.approved:
        raise Conflict("approve the merchant first", refusal="merchant_not_approved")
    address = (email or "").strip() or merchant.contact_email
    if not address:
        raise ValidationFailed("this merchant has no e-mail address", refusal="merchant_email_missing")
    return create_login(session, actor, address, role="merchant", merchant_id=merchant.id)


# -- case workers ------------------------------------------------------------

@dataclass(frozen=True)
class CapStatus:
    year: int
    max_passes: int | None
    used: int

    @property
    def left(self) -> int:
        return max(0, (self.max_passes or 0) - self.used)


def _awards_of(session: Session, user_id: int, year: int) -> int:
    return session.execute(
        select(func.count()).select_from(CaseworkerAward)
        .where(CaseworkerAward.user_id == user_id, CaseworkerAward.year == year)
    ).scalar_one()


def cap_of(session: Session, municipality_id: int, year: int) -> int | None:
    return session.execute(
        select(CaseworkerCap.max_passes).where(CaseworkerCap.municipality_id == municipality_id, CaseworkerCap.year == year)
    ).scalar()


def cap_status(session: Session, actor: Actor, year: int) -> CapStatus:
    """The yearly cap and how much of it the acting case worker has used."""
    municipality_id = _staff(actor)
    used = _awards_of(session, actor.user_id, year) if actor.user_id is not None else 0
    return CapStatus(year, cap_of(session, municipality_id, year), used)


def set_caseworker_cap(session: Session, actor: Actor, year: int, max_passes: int | str) -> CaseworkerCap:
    """How many discretionary passes each case worker may issue in ``year`` (admins only)."""
    municipality_id = _staff(actor, ADMIN)
    try:
        value = int(str(max_passes).strip())
    except ValueError:
        raise ValidationFailed("the cap is a whole number", refusal="cap_not_number") from None
    if not 0 <= value <= 100_000:
        raise ValidationFailed("the cap lies between 0 and 100,000", refusal="cap_range")
    if not 2000 <= year <= 2100:
        raise ValidationFailed("choose a year between 2000 and 2100", refusal="cap_year_range")
    cap = session.execute(
        select(CaseworkerCap).where(CaseworkerCap.municipality_id == municipality_id, CaseworkerCap.year == year)
        .with_for_update()
    ).scalar_one_or_none()
    before = None if cap is None else {"year": year, "max_passes": cap.max_passes}
    if cap is None:
        cap = CaseworkerCap(municipality_id=municipality_id, year=year, max_passes=value)
        session.add(cap)
    cap.max_passes, cap.updated_by_user_id, cap.updated_at = value, actor.user_id, now_utc()
    session.flush()
    if before is None or before["max_passes"] != value:
        record_audit(session, actor, "caseworker_cap.set", "caseworker_cap", cap.id,
                     before=before, after={"year": year, "max_passes": value})
    return cap


@dataclass(frozen=True)
class AwardRow:
    at: datetime
    caseworker: str
    child_id: int
    child_ref: str
    first_name: str
    pass_number: str
    override_reason: str | None


def caseworker_awards(session: Session, actor: Actor, year: int) -> list[AwardRow]:
    """Discretionary awards of ``year``: an admin sees everyone's, a case worker their own."""
    municipality_id = _staff(actor)
    query = (
        select(CaseworkerAward, User.email, Child, ChildPass)
        .join(User, User.id == CaseworkerAward.user_id)
        .join(Child, Child.id == CaseworkerAward.child_id)
        .join(ChildPass, ChildPass.id == CaseworkerAward.pass_id)
        .where(CaseworkerAward.municipality_id == municipality_id, CaseworkerAward.year == year)
        .order_by(CaseworkerAward.id.desc())
    )
    if actor.role != ADMIN:
        query = query.where(CaseworkerAward.user_id == actor.user_id)
    return [
        AwardRow(a.created_at, email, c.id, c.child_ref, c.first_name, p.pass_number, c.override_reason)
        for a, email, c, p in session.execute(query)
    ]


@dataclass(frozen=True)
class Registration:
    child_id: int
    pass_id: int
    pass_number: str
    total_cents: int
    cap: CapStatus | None


@dataclass(frozen=True)
class AwardYear:
    """A year a case worker can award a pass for: its scheme is loaded and not over."""

    year: int
    valid_from: date
    valid_until: date
    #: ``valid_until`` − today, in days.
    days_left: int

    @property
    def short(self) -> bool:
        return self.days_left < SHORT_VALIDITY_DAYS


def award_years(session: Session, actor: Actor, today: date) -> list[AwardYear]:
    """This year and next, each once its scheme is loaded and as long as it is not over."""
    municipality_id = _staff(actor)
    return [
        AwardYear(year, valid_from, valid_until, (valid_until - today).days)
        for year, valid_from, valid_until in session.execute(
            select(Scheme.year, Scheme.valid_from, Scheme.valid_until)
            .where(Scheme.municipality_id == municipality_id, Scheme.year.in_((today.year, today.year + 1)),
                   Scheme.valid_until >= today)
            .order_by(Scheme.year)
        )
    ]


_CHILD_FIELDS = ("child_ref", "first_name", "birth_date", "household_ref", "override_reason", "email", "postcode")


def _award_year(session: Session, municipality: Municipality, year: int | None, today: date) -> int:
    """This year or next (``None``: this year), and only once its scheme is loaded."""
    year = year or today.year
    if year not in (today.year, today.year + 1):
        raise ValidationFailed(f"a caseworker awards a pass for {today.year} or {today.year + 1}", refusal="award_year",
                               this_year=today.year, next_year=today.year + 1)
    if session.execute(
        select(Scheme.id).where(Scheme.municipality_id == municipality.id, Scheme.year == year)
    ).scalar() is None:
        raise NotFound(f"there is no scheme for {year}", refusal="no_scheme", year=year)
    return year


def register_child_by_caseworker(
    session: Session, actor: Actor, fields: Mapping[str, str], *, settings: Settings, today: date,
    year: int | None = None, accept_short: bool = False,
) -> Registration:
    """Register a child with a case worker's override reason and issue its pass for ``year``.

    ``year`` is this year (the default) or next, once that year's scheme is
    loaded. The child goes through the same checks as a row of the children
    CSV (``import_children``). A case worker stays within the yearly cap of
    their municipality (``CapReached`` otherwise); an admin is not capped. A
    pass valid for fewer than ``SHORT_VALIDITY_DAYS`` days needs
    ``accept_short`` (``ShortValidity`` otherwise). All or nothing: a refused
    issue leaves no child behind either.
    """
    municipality = _municipality(session, actor, ADMIN, CASEWORKER)
    year = _award_year(session, municipality, year, today)
    values = {name: " ".join(str(fields.get(name) or "").split()) for name in _CHILD_FIELDS}
    if not values["override_reason"]:
        raise ValidationFailed("give the reason for the award", refusal="award_reason_missing")
    if not values["child_ref"] or not values["first_name"] or not values["birth_date"]:
        raise ValidationFailed("the child's reference, first name and birth date are needed", refusal="award_child_missing")
    existing = session.execute(
        select(Child).where(Child.municipality_id == municipality.id, Child.child_ref == values["child_ref"])
    ).scalar_one_or_none()
    _no_pass_yet(session, existing, values["child_ref"], year)
    cap = _within_cap(session, actor, municipality, year)
    if existing is None:
        # The rules a row of the children CSV meets (dates, postcode, e-mail), said by the same codes.
        child = register_child(session, municipality.code, values, settings=settings, today=today)
        before = None
    else:
        # A child the municipality already registered (its income too high, say): only the
        # reason is added; the rest of its row, BSN hash and income included, stays as imported.
        child = existing
        before = _set_override_reason(child, values["override_reason"])
        session.flush()
    return _award(session, actor, municipality, child, before, year, cap, settings=settings, today=today,
                  accept_short=accept_short)


def award_child(
    session: Session, actor: Actor, child_id: int, *, override_reason: str, settings: Settings, today: date,
    year: int | None = None, accept_short: bool = False,
) -> Registration:
    """A case worker's award for a child already registered (from its page): the reason, then its pass.

    The same rules as :func:`register_child_by_caseworker` (year, cap, short validity).
    """
    municipality = _municipality(session, actor, ADMIN, CASEWORKER)
    child = _own_child(session, actor, child_id)
    year = _award_year(session, municipality, year, today)
    reason = " ".join(str(override_reason or "").split())
    if not reason:
        raise ValidationFailed("give the reason for the award", refusal="award_reason_missing")
    _no_pass_yet(session, child, child.child_ref, year)
    cap = _within_cap(session, actor, municipality, year)
    before = _set_override_reason(child, reason)
    session.flush()
    return _award(session, actor, municipality, child, before, year, cap, settings=settings, today=today,
                  accept_short=accept_short)


def _no_pass_yet(session: Session, child: Child | None, child_ref: str, year: int) -> None:
    if child is not None and session.execute(
        select(ChildPass.id).where(ChildPass.child_id == child.id, ChildPass.year == year).limit(1)
    ).scalar() is not None:
        raise Conflict(f"child {child_ref} already has a pass for {year}", refusal="child_has_pass", child_ref=child_ref,
                       year=year)


def _within_cap(session: Session, actor: Actor, municipality: Municipality, year: int) -> CapStatus | None:
    """A case worker's cap for ``year`` with room left (None for an admin, who is not capped)."""
    if actor.role != CASEWORKER:
        return None
    # Serialise this case worker's awards (SQLite: BEGIN IMMEDIATE does already),
    # so two quick submissions cannot both take the last one of the cap.
    session.execute(select(User.id).where(User.id == actor.user_id).with_for_update())
    cap = CapStatus(year, cap_of(session, municipality.id, year), _awards_of(session, actor.user_id, year))
    if cap.max_passes is None:
        raise CapReached(f"no caseworker cap is set for {year}", refusal="caseworker_cap_unset", year=year)
    if cap.used >= cap.max_passes:
        raise CapReached(f"the yearly cap of {cap.max_passes} awards for {year} is reached",
                         max_passes=cap.max_passes, year=year)
    return cap


def _set_override_reason(child: Child, reason: str) -> dict[str, Any]:
    if len(reason) > 500:
        raise ValidationFailed("the reason is longer than 500 characters", refusal="reason_too_long", limit=500)
    before = _child_snapshot(child)
    child.override_reason = reason
    child.updated_at = now_utc()
    return before


def _award(
    session: Session, actor: Actor, municipality: Municipality, child: Child, before: dict[str, Any] | None,
    year: int, cap: CapStatus | None, *, settings: Settings, today: date, accept_short: bool,
) -> Registration:
    record_audit(session, actor, "child.register", "child", child.id, before=before, after=_child_snapshot(child))
    child_pass, total = issue_for_child(session, municipality.code, child, year, settings=settings, today=today,
                                        accept_short=accept_short, actor=actor)
    if actor.user_id is not None:
        session.add(CaseworkerAward(
            municipality_id=municipality.id, user_id=actor.user_id, child_id=child.id, pass_id=child_pass.id,
            year=year, created_at=now_utc(),
        ))
        session.flush()
    if cap is not None:
        cap = CapStatus(year, cap.max_passes, cap.used + 1)
    return Registration(child.id, child_pass.id, child_pass.pass_number, total, cap)


def _child_snapshot(child: Child) -> dict[str, Any]:
    # No BSN, income or birth date: the audit log needs none of them (DOMAIN.md §3.9).
    return {"child_ref": child.child_ref, "first_name": child.first_name, "override_reason": child.override_reason}


# -- dashboard ---------------------------------------------------------------

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
    municipality = _municipality(session, actor)
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


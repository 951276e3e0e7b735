from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import books, fields, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..banking import normalise_iban
from ..errors import Conflict, NotFound, ValidationFailed
from ..money import positive_cents
from .models import DESK_LIMIT, HOURS_LIMIT, Contact, Municipality

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


def add_municipality(
    session: Session, code: str, *, name: str, iban: str | None = None, bic: str | None = None
) -> Municipality:
    code = (code or "").strip().lower()
    if not _CODE.match(code):
        raise ValidationFailed(
            f"municipality code {code!r} must be 2-63 lowercase letters, digits or hyphens, starting with a letter"
        )
    if not (name or "").strip():
        raise ValidationFailed("a municipality needs a name")
    account = normalise_iban(iban, bic) if iban else None
    if bic and not iban:
        raise ValidationFailed("--bic needs --iban")
    if session.execute(select(Municipality.id).where(Municipality.code == code)).scalar() is not None:
        raise Conflict(f"municipality {code!r} already exists")
    municipality = Municipality(
        code=code,
        name=name.strip(),
        iban=account.iban if account else None,
        bic=account.bic if account else None,
    )
    session.add(municipality)
    session.flush()
    for key_of, kind, non_negative in books.MUNICIPALITY_ACCOUNTS:
        ledger.open_account(session, key=key_of(code), kind=kind, ledger=code, non_negative=non_negative)
    return municipality


def set_municipality_iban(
    session: Session, code: str, *, iban: str, bic: str | None = None, actor: object | None = None
) -> Municipality:
    """Set the account the municipality pays providers from (the debtor of
    its SEPA files); checked with schwifty first, and audit-logged.

    ``actor`` None is the command line; otherwise an admin of the municipality.
    """
    municipality = get_municipality(session, code)
    if isinstance(actor, Actor):
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    if not (iban or "").strip():
        raise ValidationFailed("give the IBAN the municipality pays from")
    account = normalise_iban(iban, bic)
    before = {"iban": municipality.iban, "bic": municipality.bic}
    municipality.iban, municipality.bic = account.iban, account.bic
    session.flush()
    record_audit(
        session, actor if isinstance(actor, Actor) else None, "municipality.set_iban", "municipality", municipality.id,
        before=before, after={"iban": municipality.iban, "bic": municipality.bic}, municipality_id=municipality.id,
    )
    return municipality


def set_contact(
    session: Session, code: str, *, phone: str | None, email: str | None, website: str | None,
    desk: str | None, hours: str | None, actor: Actor | None = None,
) -> Municipality:
    """Whom families call about their pass: the phone number, e-mail address,
    web address, and the desk's address and opening hours that the pass page
    and the letters show. Each is optional (empty clears it) and checked by
    ``pasdienst.fields``; nothing is stored unless all five pass. Audited
    (``municipality.contact``) when something changed.

    ``actor`` None is the command line; otherwise an admin of the municipality.
    Raises ``fields.FieldRefused`` (naming the field), ``NotFound``, ``Forbidden``.
    """
    municipality = get_municipality(session, code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    wanted = Contact(
        phone=fields.phone(phone, field="phone"),
        email=fields.email(email, field="email"),
        website=fields.website(website, field="website"),
        desk=fields.short_text(desk, field="desk", limit=DESK_LIMIT),
        hours=fields.short_text(hours, field="hours", limit=HOURS_LIMIT),
    )
    before = municipality.contact
    if wanted == before:
        return municipality
    municipality.contact_phone, municipality.contact_email, municipality.contact_website = (
        wanted.phone, wanted.email, wanted.website,
    )
    municipality.contact_desk, municipality.contact_hours = wanted.desk, wanted.hours
    session.flush()
    record_audit(
        session, actor, "municipality.contact", "municipality", municipality.id,
        before=before.as_dict(), after=wanted.as_dict(), municipality_id=municipality.id,
    )
    return municipality


def get_municipality(session: Session, code: str) -> Municipality:
    found = session.execute(
        select(Municipality).where(Municipality.code == (code or "").strip().lower())
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no municipality {code!r}", refusal="municipality_not_found")
    return found


def topup_budget(
    session: Session, code: str, amount: str | int, *, reference: str, idempotency_key: str | None = None,
    actor: Actor | None = None,
) -> ledger.Posted:
    """Money from the external source into the fund; ``amount`` as ``"25000.00"`` or cents.

    With ``actor`` (a staff member, or ``CLI_ACTOR``) it is audited as ``budget.topup`` (a replayed
    request is not: nothing moved)."""
    municipality = get_municipality(session, code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    cents = amount if isinstance(amount, int) and not isinstance(amount, bool) else positive_cents(str(amount), strict=True)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed("a top-up needs a reference (e.g. the council decision or invoice number)",
                               refusal="topup_reference_missing")
    if len(reference) > 200:
        raise ValidationFailed("the reference is longer than 200 characters", refusal="topup_reference_too_long",
                               limit=200)
    source = ledger.get_account(session, books.source_key(municipality.code))
    fund = ledger.get_account(session, books.fund_key(municipality.code))
    posted = ledger.transfer(
        session,
        kind=books.TOPUP,
        source=source.id,
        destination=fund.id,
        amount=cents,
        reference=reference,
        idempotency_key=idempotency_key,
    )
    if actor is not None and not posted.replayed:
        record_audit(session, actor, "budget.topup", "ledger_transfer", posted.id,
                     after={"amount_cents": cents, "reference": reference}, municipality_id=municipality.id)
    return posted


def set_budget_threshold(session: Session, code: str, cents: int, *, actor: Actor) -> int:
    """The level under which the budget page and the dashboard warn; ``0`` switches the warning off.

    Audited as ``municipality.budget_threshold`` when it changes."""
    municipality = get_municipality(session, code)
    ensure_role(actor, "admin", "system")
    ensure_municipality(actor, municipality.id)
    before = municipality.low_budget_threshold_cents
    if before != cents:
        municipality.low_budget_threshold_cents = cents
        session.flush()
        record_audit(
            session, actor, "municipality.budget_threshold", "municipality", municipality.id,
            before={"low_budget_threshold_cents": before}, after={"low_budget_threshold_cents": cents},
            municipality_id=municipality.id,
        )
    return cents


@dataclass(frozen=True)
class BudgetFigures:
    """What a budget owner asks: where did the money go? All in cents."""

    topped_up: int
    reserved: int  # awarded onto passes (net of reversals), all time
    spent: int  # redeemed at providers, net of voids
    settled: int  # approved in settlement batches
    paid: int  # executed by the bank
    returned: int  # unused balances returned at year end
    available: int  # in the fund, free to award
    outstanding: int  # on vouchers now, still spendable

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def budget_figures(session: Session, code: str) -> BudgetFigures:
    municipality = get_municipality(session, code)
    totals = ledger.kind_totals(session, municipality.code)
    balances = ledger.accounts_by_kind(session, municipality.code)
    return BudgetFigures(
        topped_up=totals.get(books.TOPUP, 0),
        reserved=totals.get(books.ISSUE, 0),
        spent=totals.get(books.REDEEM, 0),
        settled=totals.get(books.SETTLE, 0),
        paid=totals.get(books.PAYOUT, 0),
        returned=totals.get(books.EXPIRE, 0),
        available=balances.get(books.FUND, 0),
        outstanding=balances.get(books.VOUCHER, 0),
    )

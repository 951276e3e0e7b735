"""Merchant records: the shops, clubs and schools where vouchers are spent.

A merchant belongs to one municipality, accepts vouchers of its categories
only, and is paid by SEPA credit transfer to an IBAN that was checked (check
digits, a known Dutch bank) before it was stored. Each merchant has a ledger
payable (``books.merchant_key``) that redemptions credit and settlement
empties.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import books, fields, ledger
from ..access.accounts import normalise_email
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..banking import bank_name, normalise_iban
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from .models import CATEGORIES, MERCHANT_STATUSES, Merchant

# ASCII digits only: \d also takes other scripts' digits, and $ a trailing newline.
_KVK = re.compile(r"[0-9]{8}")


MAX_NAME = 200
MAX_ADDRESS = 300


class MerchantNameRefused(ValidationFailed):
    """A merchant name that cannot be stored (its ``refusal`` says why, for the pages)."""

    def __init__(self, message: str, *, refusal: str, **details: object) -> None:
        super().__init__(message, refusal=refusal, errors={"name": [message]}, **details)


def clean_merchant_name(name: str | None) -> str:
    """The merchant's name as stored (whitespace collapsed), or ``MerchantNameRefused``.

    The one rule for every way a name comes in (sign-up, admin page, API,
    command line, rename). Besides "not empty, at most 200 characters" the
    name must survive SEPA transliteration with at least one letter or digit
    (``banking.bank_name``): it is the creditor name of every payment to the
    merchant, and a name like "🎈🎈🎈" or "★★★" would otherwise only be
    refused when the payment file is built, after the batch was approved.
    """
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise MerchantNameRefused("a merchant needs a name", refusal="merchant_name_missing")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in cleaned):
        # NUL and other control characters: PostgreSQL refuses NUL in text.
        raise MerchantNameRefused("a merchant's name cannot hold control characters", refusal="merchant_name_control")
    if len(cleaned) > MAX_NAME:
        raise MerchantNameRefused(f"a merchant's name is at most {MAX_NAME} characters", refusal="merchant_name_too_long",
                                  limit=MAX_NAME)
    if bank_name(cleaned) is None:
        raise MerchantNameRefused(
            f"merchant name {cleaned!r} has no letter or digit a bank can use in a payment "
            "(emoji and symbols are dropped from SEPA payments); give the name the bank knows the account by",
            refusal="merchant_name_unusable", name=cleaned,
        )
    return cleaned


def parse_categories(categories: str | Iterable[str]) -> list[str]:
    """``"school, clothing"`` or ``["school"]`` → the CONTRACT categories, in CONTRACT order."""
    items = categories.split(",") if isinstance(categories, str) else list(categories)
    wanted = {str(c).strip().lower() for c in items if str(c).strip()}
    if not wanted:
        raise ValidationFailed(f"a merchant needs at least one category ({', '.join(CATEGORIES)})",
                               refusal="categories_missing")
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise ValidationFailed(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: use {', '.join(CATEGORIES)}",
            refusal="category_unknown",
        )
    return [c for c in CATEGORIES if c in wanted]


def merchant_snapshot(merchant: Merchant) -> dict[str, Any]:
    return {
        "name": merchant.name,
        "categories": merchant.categories,
        "iban": merchant.iban,
        "bic": merchant.bic,
        "status": merchant.status,
        "kvk_number": merchant.kvk_number,
    }


def _listing(merchant: Merchant) -> dict[str, Any]:
    return {"place": merchant.place, "offer": merchant.offer, "website": merchant.website}


def set_listing(
    session: Session, merchant_id: int, *, place: str | None, offer: str | None, website: str | None,
    actor: Actor | None = None,
) -> Merchant:
    """What families read about a merchant on the pass page and the letter: its
    town, what it offers and its own web address (each optional; empty clears
    it). An admin of its municipality (``actor`` None is the command line).
    Raises ``fields.FieldRefused`` (naming the field), ``NotFound``, ``Forbidden``.
    """
    merchant = merchant_for(session, merchant_id, actor)
    wanted = {
        "place": fields.short_text(place, field="place", limit=100),
        "offer": fields.short_text(offer, field="offer", limit=300),
        "website": fields.website(website),
    }
    before = _listing(merchant)
    if wanted == before:
        return merchant
    merchant.place, merchant.offer, merchant.website = wanted["place"], wanted["offer"], wanted["website"]
    session.flush()
    record_audit(
        session, actor, "merchant.listing", "merchant", merchant.id,
        before=before, after=_listing(merchant), municipality_id=merchant.municipality_id,
    )
    return merchant


def add_merchant(
    session: Session,
    municipality_code: str,
    *,
    name: str,
    categories: str | Iterable[str],
    iban: str,
    bic: str | None = None,
    status: str = "approved",
    kvk_number: str | None = None,
    address: str | None = None,
    contact_email: str | None = None,
    actor: Actor | None = None,
) -> Merchant:
    """Add a merchant and open its ledger payable.

    Raises ``ValidationFailed`` (name: ``clean_merchant_name``; categories, IBAN/BIC via ``InvalidIBAN``,
    status, KvK number, e-mail), ``NotFound`` (municipality), ``Conflict``
    (a merchant of that name already exists there) and ``Forbidden`` when
    ``actor`` is not an admin of that municipality. ``actor`` None is the
    command line.
    """
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    name = clean_merchant_name(name)
    chosen = parse_categories(categories)
    if status not in MERCHANT_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(MERCHANT_STATUSES)}, not {status!r}")
    if not (iban or "").strip():
        raise ValidationFailed("a merchant needs an IBAN to be paid to", refusal="iban_missing")
    account = normalise_iban(iban, bic)
    kvk = (kvk_number or "").replace(" ", "") or None
    if kvk is not None and not _KVK.fullmatch(kvk):
        raise ValidationFailed(f"KvK number {kvk_number!r} must be 8 digits", refusal="kvk_invalid")
    email = normalise_email(contact_email) if contact_email and contact_email.strip() else None
    address = (address or "").strip() or None
    if address is not None and len(address) > MAX_ADDRESS:
        raise ValidationFailed(f"an address is at most {MAX_ADDRESS} characters", refusal="address_too_long",
                               limit=MAX_ADDRESS)
    clash = session.execute(
        select(Merchant.id).where(Merchant.municipality_id == municipality.id, Merchant.name == name)
    ).scalar()
    if clash is not None:
        raise Conflict(f"{municipality.code} already has a merchant {name!r} (id {clash})", refusal="merchant_name_taken",
                       name=name)
    merchant = Merchant(
        municipality_id=municipality.id,
        name=name,
        categories=",".join(chosen),
        iban=account.iban,
        bic=account.bic,
        status=status,
        kvk_number=kvk,
        address=address,
        contact_email=email,
        created_at=now_utc(),
    )
    session.add(merchant)
    session.flush()
    merchant.account_id = ledger.open_account(
        session,
        key=books.merchant_key(municipality.code, merchant.id),
        kind=books.MERCHANT_PAYABLE,
        ledger=municipality.code,
        # Every redemption at this merchant credits it: no shared row to
        # update (and lock) per payment; settlement keeps it from going
        # below zero (pasdienst/settlement/batches.py).
        non_negative=False,
        balance_cached=False,
    )
    session.flush()
    record_audit(
        session, actor, "merchant.create", "merchant", merchant.id,
        after=merchant_snapshot(merchant), municipality_id=municipality.id,
    )
    return merchant


#: Who may see where a merchant is paid (IBAN, BIC): those who pay and
#: approve payees. Caseworkers help families and have no need for it.
PAYEE_ROLES: frozenset[str] = frozenset({"admin", "finance", "system"})


def sees_payee(actor: Actor) -> bool:
    return actor.role in PAYEE_ROLES


def get_merchant(session: Session, merchant_id: int | None) -> Merchant:
    merchant = session.get(Merchant, merchant_id) if isinstance(merchant_id, int) else None
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id!r}", refusal="merchant_not_found")
    return merchant


def merchant_for(session: Session, merchant_id: int | None, actor: Actor | None) -> Merchant:
    """The merchant ``actor`` changes: for the command line (None) any; for
    staff only an admin's, of its own municipality. Another municipality's
    merchant is "not found", so its existence stays private."""
    merchant = get_merchant(session, merchant_id)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        if actor.role != "system" and actor.municipality_id != merchant.municipality_id:
            raise NotFound("no such merchant in this municipality", refusal="merchant_not_found")
    return merchant


def merchant_municipality_code(session: Session, merchant: Merchant) -> str:
    code = session.execute(select(Municipality.code).where(Municipality.id == merchant.municipality_id)).scalar()
    assert code is not None
    return code


def merchant_accepts_category(merchant: Merchant, category: str) -> bool:
    """Whether ``merchant`` takes vouchers of ``category``. (Check ``merchant.approved`` separately.)"""
    return category in merchant.category_set


def list_merchants(
    session: Session, municipality_code: str, *, category: str | None = None, status: str | None = "approved"
) -> list[Merchant]:
    """A municipality's merchants by name; only approved ones unless ``status`` says otherwise (None: all)."""
    municipality = get_municipality(session, municipality_code)
    query = select(Merchant).where(Merchant.municipality_id == municipality.id)
    if status is not None:
        query = query.where(Merchant.status == status)
    merchants = list(session.execute(query.order_by(Merchant.name, Merchant.id)).scalars())
    if category is not None:
        merchants = [m for m in merchants if merchant_accepts_category(m, category)]
    return merchants


def set_merchant_status(session: Session, merchant_id: int, status: str, *, actor: Actor | None = None) -> Merchant:
    """Approve, suspend or reinstate a merchant (an admin of its municipality)."""
    merchant = merchant_for(session, merchant_id, actor)
    if status not in MERCHANT_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(MERCHANT_STATUSES)}, not {status!r}")
    if merchant.status != status:
        before = merchant_snapshot(merchant)
        merchant.status = status
        session.flush()
        record_audit(
            session, actor, "merchant.status", "merchant", merchant.id,
            before=before, after=merchant_snapshot(merchant), municipality_id=merchant.municipality_id,
        )
    return merchant


def rename_merchant(session: Session, merchant_id: int, name: str, *, actor: Actor | None = None) -> Merchant:
    """Give a merchant another name (an admin of its municipality; ``actor`` None is the command line).

    The name rules of ``add_merchant``. Batches approved before keep the
    name they were approved with (``SettlementLine.creditor_name``); the
    next approval uses the new one. Renaming to the same name changes nothing.
    Raises ``MerchantNameRefused``, ``NotFound``, ``Conflict`` (another merchant
    of the municipality has that name) and ``Forbidden``.
    """
    merchant = merchant_for(session, merchant_id, actor)
    name = clean_merchant_name(name)
    if name == merchant.name:
        return merchant
    clash = session.execute(
        select(Merchant.id).where(
            Merchant.municipality_id == merchant.municipality_id, Merchant.name == name, Merchant.id != merchant.id
        )
    ).scalar()
    if clash is not None:
        raise Conflict(f"merchant {clash} of this municipality is already called {name!r}", refusal="merchant_name_taken",
                       name=name)
    before = merchant_snapshot(merchant)
    merchant.name = name
    session.flush()
    record_audit(
        session, actor, "merchant.rename", "merchant", merchant.id,
        before=before, after=merchant_snapshot(merchant), municipality_id=merchant.municipality_id,
    )
    return merchant

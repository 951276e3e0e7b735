"""Merchants: the shops, clubs and schools where vouchers are spent.

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

from .. import books, ledger
from ..access.services import Actor, ensure_municipality, ensure_role, normalise_email, record_audit
from ..banking import normalise_iban
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from .models import CATEGORIES, MERCHANT_STATUSES, Merchant

_KVK = re.compile(r"^\d{8}$")


def parse_categories(categories: str | Iterable[str]) -> list[str]:
    """``"school, clothing"`` or ``["school"]`` → the CONTRACT categories, in CONTRACT order."""
    items = categories.split(",") if isinstance(categories, str) else list(categories)
    wanted = {str(c).strip().lower() for c in items if str(c).strip()}
    if not wanted:
        raise ValidationFailed(f"a merchant needs at least one category ({', '.join(CATEGORIES)})")
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise ValidationFailed(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: use {', '.join(CATEGORIES)}"
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

    Raises ``ValidationFailed`` (categories, IBAN/BIC via ``InvalidIBAN``,
    status, KvK number, e-mail), ``NotFound`` (municipality), ``Conflict``
    (a merchant of that name already exists there) and ``Forbidden`` when
    ``actor`` is not an admin of that municipality. ``actor`` None is the
    command line.
    """
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("a merchant needs a name")
    if len(name) > 200:
        raise ValidationFailed("a merchant's name is at most 200 characters")
    chosen = parse_categories(categories)
    if status not in MERCHANT_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(MERCHANT_STATUSES)}, not {status!r}")
    if not (iban or "").strip():
        raise ValidationFailed("a merchant needs an IBAN to be paid to")
    account = normalise_iban(iban, bic)
    kvk = (kvk_number or "").replace(" ", "") or None
    if kvk is not None and not _KVK.match(kvk):
        raise ValidationFailed(f"KvK number {kvk_number!r} must be 8 digits")
    email = normalise_email(contact_email) if (contact_email or "").strip() else None
    address = (address or "").strip() or None
    if address is not None and len(address) > 300:
        raise ValidationFailed("an address is at most 300 characters")
    clash = session.execute(
        select(Merchant.id).where(Merchant.municipality_id == municipality.id, Merchant.name == name)
    ).scalar()
    if clash is not None:
        raise Conflict(f"{municipality.code} already has a merchant {name!r} (id {clash})")
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
        non_negative=True,
    )
    session.flush()
    record_audit(
        session, actor, "merchant.create", "merchant", merchant.id,
        after=merchant_snapshot(merchant), municipality_id=municipality.id,
    )
    return merchant


def get_merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id) if isinstance(merchant_id, int) else None
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id!r}")
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
    merchant = get_merchant(session, merchant_id)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, merchant.municipality_id)
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

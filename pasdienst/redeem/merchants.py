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
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from .. import books, fields, ledger
from ..access.services import Actor, ensure_municipality, ensure_role, normalise_email, record_audit
from ..banking import bank_name, normalise_iban
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..cooperations.models import CooperationPayable
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..wallet.models import BUDGET, Scheme, SchemeItem, Voucher
from . import redemptions
from .models import CATEGORIES, MERCHANT_STATUSES, Merchant, VoucherBinding

# ASCII digits only: \d also takes other scripts' digits, and $ a trailing newline.
_KVK = re.compile(r"[0-9]{8}")


MAX_NAME = 200


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
    merchant = get_merchant(session, merchant_id)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, merchant.municipality_id)
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


# -- where a pass can be spent ------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A merchant as the pass page and the letter show it."""

    name: str
    place: str | None
    offer: str | None
    website: str | None


class WhereToSpend:
    """The approved merchants that take one municipality's passes, read once
    (its own, and those of fellow cooperation members admitted to take them:
    ``redemptions.payable_for``), and which of them take a voucher: the rule
    of the till itself (``redemptions.accepts``: the merchant's categories,
    and the municipality's bindings of a voucher code if it has any)."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        self.municipality_id = municipality_id
        fellows = select(CooperationPayable.merchant_id).where(CooperationPayable.municipality_id == municipality_id)
        self.merchants = list(session.execute(
            select(Merchant)
            .where(Merchant.status == "approved", or_(Merchant.municipality_id == municipality_id, Merchant.id.in_(fellows)))
            .order_by(Merchant.name, Merchant.id)
        ).scalars())
        self.bindings: dict[str, set[int]] = {}
        for code, merchant_id in session.execute(
            select(VoucherBinding.voucher_code, VoucherBinding.merchant_id)
            .where(VoucherBinding.municipality_id == municipality_id)
        ):
            self.bindings.setdefault(code, set()).add(merchant_id)
        self._cache: dict[tuple[str, str | None], tuple[Place, ...]] = {}

    def bound(self, code: str | None) -> bool:
        """Whether vouchers with this scheme code go only to the merchants bound to it."""
        return bool(code) and code in self.bindings

    def places(self, category: str, code: str | None) -> tuple[Place, ...]:
        """The merchants that take a voucher of this category and scheme code, by name."""
        key = (category, code)
        if key not in self._cache:
            voucher = SimpleNamespace(municipality_id=self.municipality_id, category=category, code=code)
            self._cache[key] = tuple(
                Place(m.name, m.place, m.offer, m.website) for m in self.merchants
                if redemptions.accepts(m, voucher, self.bindings, True)  # type: ignore[arg-type]
            )
        return self._cache[key]


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
        raise ValidationFailed("a merchant needs an IBAN to be paid to")
    account = normalise_iban(iban, bic)
    kvk = (kvk_number or "").replace(" ", "") or None
    if kvk is not None and not _KVK.fullmatch(kvk):
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


def get_merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id) if isinstance(merchant_id, int) else None
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id!r}", refusal="merchant_not_found")
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


def rename_merchant(session: Session, merchant_id: int, name: str, *, actor: Actor | None = None) -> Merchant:
    """Give a merchant another name (an admin of its municipality; ``actor`` None is the command line).

    The name rules of ``add_merchant``. Batches approved before keep the
    name they were approved with (``SettlementLine.creditor_name``); the
    next approval uses the new one. Renaming to the same name changes nothing.
    Raises ``MerchantNameRefused``, ``NotFound``, ``Conflict`` (another merchant
    of the municipality has that name) and ``Forbidden``.
    """
    merchant = get_merchant(session, merchant_id)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, merchant.municipality_id)
    name = clean_merchant_name(name)
    if name == merchant.name:
        return merchant
    clash = session.execute(
        select(Merchant.id).where(
            Merchant.municipality_id == merchant.municipality_id, Merchant.name == name, Merchant.id != merchant.id
        )
    ).scalar()
    if clash is not None:
        raise Conflict(f"merchant {clash} of this municipality is already called {name!r}")
    before = merchant_snapshot(merchant)
    merchant.name = name
    session.flush()
    record_audit(
        session, actor, "merchant.rename", "merchant", merchant.id,
        before=before, after=merchant_snapshot(merchant), municipality_id=merchant.municipality_id,
    )
    return merchant


# -- bindings: punch cards and cheques that only named merchants take -----------


@dataclass(frozen=True)
class BindingChange:
    """What ``bind_voucher_code`` or ``unbind_voucher_code`` did."""

    municipality_code: str
    voucher_code: str
    kind: str
    category: str
    merchant_id: int
    merchant_name: str
    #: False when the binding was already there (bind) or is left as it was.
    changed: bool
    #: ``(id, name)`` of every merchant bound to the code afterwards; empty:
    #: the code is again accepted by every merchant of its category.
    bound_to: tuple[tuple[int, str], ...]


def _voucher_code_kind(session: Session, municipality_id: int, code: str) -> tuple[str, str] | None:
    """``(kind, category)`` of a punch-card or cheque code of the municipality,
    from its schemes (any year) or, failing that, from vouchers already issued."""
    found = session.execute(
        select(SchemeItem.kind, SchemeItem.category)
        .join(Scheme, Scheme.id == SchemeItem.scheme_id)
        .where(Scheme.municipality_id == municipality_id, SchemeItem.code == code, SchemeItem.kind != BUDGET)
        .order_by(Scheme.year.desc())
        .limit(1)
    ).first()
    if found is None:
        found = session.execute(
            select(Voucher.kind, Voucher.category)
            .where(Voucher.municipality_id == municipality_id, Voucher.code == code, Voucher.kind != BUDGET)
            .limit(1)
        ).first()
    return (found[0], found[1]) if found is not None else None


def _binding_target(
    session: Session, merchant_id: int, voucher_code: str, actor: Actor | None
) -> tuple[Merchant, str, str, str, str]:
    merchant = get_merchant(session, merchant_id)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, merchant.municipality_id)
    code = (voucher_code or "").strip().lower()
    if not code:
        raise ValidationFailed("give the code of a punch card or cheque, e.g. zwemmen")
    municipality_code = merchant_municipality_code(session, merchant)
    found = _voucher_code_kind(session, merchant.municipality_id, code)
    if found is None:
        known = session.execute(
            select(SchemeItem.code)
            .join(Scheme, Scheme.id == SchemeItem.scheme_id)
            .where(Scheme.municipality_id == merchant.municipality_id, SchemeItem.kind != BUDGET)
            .distinct()
            .order_by(SchemeItem.code)
        ).scalars().all()
        hint = f" (its codes: {', '.join(known)})" if known else " (its schemes have none)"
        raise NotFound(f"{municipality_code} has no punch card or cheque with code {code!r}{hint}")
    kind, category = found
    return merchant, municipality_code, code, kind, category


def _bound_to(session: Session, municipality_id: int, code: str) -> tuple[tuple[int, str], ...]:
    rows = session.execute(
        select(Merchant.id, Merchant.name)
        .join(VoucherBinding, VoucherBinding.merchant_id == Merchant.id)
        .where(VoucherBinding.municipality_id == municipality_id, VoucherBinding.voucher_code == code)
        .order_by(Merchant.name, Merchant.id)
    ).all()
    return tuple((r[0], r[1]) for r in rows)


def bind_voucher_code(
    session: Session, merchant_id: int, voucher_code: str, *, actor: Actor | None = None
) -> BindingChange:
    """Let ``merchant_id`` take the punch cards or cheques with ``voucher_code``.

    Once a code has a binding, only its bound merchants accept it (and still
    only when they take its category); a code without bindings goes to every
    merchant of its category. Binding twice changes nothing.

    Raises ``NotFound`` (merchant; no punch card or cheque with that code in
    the merchant's municipality), ``ValidationFailed`` (no code; the merchant
    does not take the code's category) and ``Forbidden`` when ``actor`` is not
    an admin of that municipality. ``actor`` None is the command line.
    """
    merchant, municipality_code, code, kind, category = _binding_target(session, merchant_id, voucher_code, actor)
    if category not in merchant.category_set:
        raise ValidationFailed(
            f"{merchant.name} (merchant {merchant.id}) does not take {category} vouchers "
            f"(its categories: {merchant.categories}), so it could never accept {kind} {code}"
        )
    existing = session.execute(
        select(VoucherBinding.id).where(
            VoucherBinding.municipality_id == merchant.municipality_id,
            VoucherBinding.voucher_code == code,
            VoucherBinding.merchant_id == merchant.id,
        )
    ).scalar()
    if existing is None:
        binding = VoucherBinding(municipality_id=merchant.municipality_id, voucher_code=code, merchant_id=merchant.id)
        session.add(binding)
        session.flush()
        record_audit(
            session, actor, "voucher_binding.create", "voucher_binding", binding.id,
            after={"voucher_code": code, "kind": kind, "merchant_id": merchant.id, "merchant": merchant.name},
            municipality_id=merchant.municipality_id,
        )
    return BindingChange(
        municipality_code, code, kind, category, merchant.id, merchant.name, existing is None,
        _bound_to(session, merchant.municipality_id, code),
    )


def unbind_voucher_code(
    session: Session, merchant_id: int, voucher_code: str, *, actor: Actor | None = None
) -> BindingChange:
    """Undo ``bind_voucher_code``. When the last binding of a code goes, the
    code is accepted again by every merchant of its category.

    Raises ``NotFound`` (merchant, code, or no such binding) and ``Forbidden``
    as ``bind_voucher_code`` does.
    """
    merchant, municipality_code, code, kind, category = _binding_target(session, merchant_id, voucher_code, actor)
    binding_id = session.execute(
        select(VoucherBinding.id).where(
            VoucherBinding.municipality_id == merchant.municipality_id,
            VoucherBinding.voucher_code == code,
            VoucherBinding.merchant_id == merchant.id,
        )
    ).scalar()
    if binding_id is None:
        raise NotFound(f"{merchant.name} (merchant {merchant.id}) is not bound to {kind} {code}")
    session.execute(delete(VoucherBinding).where(VoucherBinding.id == binding_id))
    record_audit(
        session, actor, "voucher_binding.delete", "voucher_binding", binding_id,
        before={"voucher_code": code, "kind": kind, "merchant_id": merchant.id, "merchant": merchant.name},
        municipality_id=merchant.municipality_id,
    )
    return BindingChange(
        municipality_code, code, kind, category, merchant.id, merchant.name, True,
        _bound_to(session, merchant.municipality_id, code),
    )


def voucher_bindings(session: Session, municipality_code: str) -> dict[str, tuple[tuple[int, str], ...]]:
    """Every bound code of a municipality and its merchants ``(id, name)``, by code."""
    municipality = get_municipality(session, municipality_code)
    codes = session.execute(
        select(VoucherBinding.voucher_code)
        .where(VoucherBinding.municipality_id == municipality.id)
        .distinct()
        .order_by(VoucherBinding.voucher_code)
    ).scalars().all()
    return {code: _bound_to(session, municipality.id, code) for code in codes}

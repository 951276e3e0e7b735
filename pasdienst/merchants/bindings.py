"""Bindings: punch cards and cheques that only named merchants take.

Once a voucher code of a municipality has a binding, only its bound merchants
accept it (and still only in its category); a code without bindings goes to
every merchant of its category (``redeem.redemptions.accepts``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor
from ..errors import NotFound, ValidationFailed
from ..municipalities.services import get_municipality
from ..wallet.models import BUDGET, Scheme, SchemeItem, Voucher
from .models import Merchant, VoucherBinding
from .records import merchant_for, merchant_municipality_code


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
    merchant = merchant_for(session, merchant_id, actor)
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
        hint = f" (its codes: {', '.join(c for c in known if c)})" if known else " (its schemes have none)"
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
    an admin; another municipality's merchant is ``NotFound`` for its admin,
    as everywhere. ``actor`` None is the command line.
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

"""Where a pass can be spent: the merchants the pass page and the letter name.

Read once per municipality (a letter run reads it once for all its letters),
and decided by the till's own rule, so the paper never promises a shop the
till would refuse.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..cooperations.models import CooperationPayable
from ..redeem import redemptions
from .models import Merchant, VoucherBinding


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
                if redemptions.accepts(m, voucher, self.bindings, True)  # type: ignore[arg-type]  # the till's rule asked of a voucher that is not issued yet: only its category and code matter
            )
        return self._cache[key]



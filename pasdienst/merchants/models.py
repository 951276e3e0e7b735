"""The merchants' tables: the merchant itself, the bindings of punch cards and cheques to
named merchants, and a requested change of IBAN."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base

#: The spending categories of CONTRACT.md, in display order.
CATEGORIES: tuple[str, ...] = ("sport_culture", "school", "transport", "clothing", "digital", "other")

MERCHANT_STATUSES: tuple[str, ...] = ("pending", "approved", "suspended")


class Merchant(Base):
    """A provider: a shop, club or school that takes vouchers and is paid by SEPA."""

    __tablename__ = "merchant"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'suspended')", name="status_known"),
        # A second "merchant add" with the same name is almost always a typo'd
        # retry; branches of a chain get their own names ("Bruna Centrum").
        UniqueConstraint("municipality_id", "name", name="uq_merchant_municipality_id_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Comma-separated CONTRACT categories, e.g. ``sport_culture,school``; see ``category_set``.
    categories: Mapped[str] = mapped_column(String(200))
    #: Compact IBAN, checked with schwifty before it is stored (``pasdienst.banking``).
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    #: Only ``approved`` merchants can redeem; ``suspended`` keeps history and payables.
    status: Mapped[str] = mapped_column(String(16))
    kvk_number: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(300))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    #: What families read on the pass page and the letter (``merchants.set_listing``):
    #: the town, what it offers ("zwemles en vrij zwemmen"), a link to its own site.
    place: Mapped[str | None] = mapped_column(String(100))
    offer: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(300))
    #: Its ledger payable (``books.merchant_key``). Set right after the row is
    #: flushed, because the account key needs the merchant's id.
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_account.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    @property
    def category_set(self) -> frozenset[str]:
        return frozenset(c for c in self.categories.split(",") if c)

    @property
    def approved(self) -> bool:
        return self.status == "approved"


class VoucherBinding(Base):
    """Binds vouchers with a scheme code (a punch card, a cheque) to named merchants.

    Once a code has any binding, only the bound merchants accept it; codes
    without bindings go by category alone.
    """

    __tablename__ = "voucher_binding"
    __table_args__ = (UniqueConstraint("municipality_id", "voucher_code", "merchant_id", name="uq_voucher_binding"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    voucher_code: Mapped[str] = mapped_column(String(40))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))


IBAN_PENDING = "pending"
IBAN_CONFIRMED = "confirmed"
IBAN_CANCELLED = "cancelled"
IBAN_STATUSES: tuple[str, ...] = (IBAN_PENDING, IBAN_CONFIRMED, IBAN_CANCELLED)


class IbanChangeRequest(Base):
    """A new IBAN for a merchant, applied only when a second admin confirms it.

    Until then the merchant keeps (and settlement pays) its old IBAN; the old
    one is copied here so the confirming admin sees what changes.
    """

    __tablename__ = "merchant_iban_change"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="status_known"),
        Index("ix_merchant_iban_change_merchant_id_status", "merchant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    old_iban: Mapped[str] = mapped_column(String(34))
    old_bic: Mapped[str | None] = mapped_column(String(11))
    #: Compact and checked with schwifty (``pasdienst.banking.normalise_iban``).
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(16))
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=now_utc)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    decided_at: Mapped[datetime | None]

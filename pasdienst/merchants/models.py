"""The merchants' own tables beside ``merchant`` itself: a requested change of IBAN."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base

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

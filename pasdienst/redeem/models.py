from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
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

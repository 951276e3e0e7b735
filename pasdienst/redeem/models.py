from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base, BigIntPK


class Redemption(Base):
    """Money taken from one voucher at one merchant: written with its ledger
    transfer and receipt number in one transaction."""

    __tablename__ = "redemption"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("strips IS NULL OR strips > 0", name="strips_positive"),
        # The merchant's phone makes the key; one key, one redemption.
        UniqueConstraint("merchant_id", "idempotency_key", name="uq_redemption_merchant_id_idempotency_key"),
        Index("ix_redemption_merchant_id_created_at", "merchant_id", "created_at"),
    )

    #: Monotonic: settlement takes everything up to a high-water mark.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The pass's municipality: its fund pays, its finance settles, its usage
    #: report counts it; at a merchant of a fellow member of its cooperation
    #: too (the merchant's own municipality is ``merchant.municipality_id``).
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    pass_id: Mapped[int] = mapped_column(ForeignKey("wallet_pass.id"), index=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("wallet_voucher.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    strips: Mapped[int | None]
    #: What the till showed, kept so a retried request gets the same answer.
    balance_after_cents: Mapped[int] = mapped_column(BigInteger)
    strips_left: Mapped[int | None]
    receipt_no: Mapped[str] = mapped_column(String(16), unique=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    #: sha256 of the request body: tells a retry from a reused key.
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    voided_at: Mapped[datetime | None]
    void_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    voided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    # Which settlement batch holds it: ``settlement_item`` (one row per
    # claimed redemption), not a column here; see pasdienst/settlement/models.py.


class Refusal(Base):
    """A refused scan or redemption: who, when and why; never the code itself.

    Also the counter behind the limit on failed typed-code look-ups, so the
    limit holds across workers and hosts.
    """

    __tablename__ = "redeem_refusal"
    __table_args__ = (Index("ix_redeem_refusal_merchant_id_at", "merchant_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    #: True when a typed code (not a QR) failed: those are limited far tighter.
    typed_code: Mapped[bool] = mapped_column(Boolean, server_default=false())
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    #: The till login it came from (``access.web.till_login``: a hash of its
    #: login session or API token): wrong typed codes count per login too.
    till: Mapped[str | None] = mapped_column(String(24))

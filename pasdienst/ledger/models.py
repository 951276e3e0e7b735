from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Uuid,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base, BigIntPK


class Account(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("non_negative = false OR balance >= 0", name="balance_non_negative"),
        CheckConstraint("non_negative = false OR balance_cached = true", name="guard_needs_cached_balance"),
        CheckConstraint("balance_cached = true OR balance = 0", name="derived_balance_unused"),
        Index("ix_ledger_account_ledger_kind", "ledger", "kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: Unique, human-readable address, e.g. ``opsterland:fund`` or ``opsterland:voucher:42``.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: The partition (a municipality code); a transfer never crosses partitions.
    ledger: Mapped[str] = mapped_column(String(64))
    non_negative: Mapped[bool] = mapped_column(Boolean, server_default=false())
    #: Cache of the sum of this account's postings, kept in the same
    #: transaction as the postings; ``pasdienst ledger verify`` recomputes it.
    #: Zero and unused when ``balance_cached`` is off.
    balance: Mapped[int] = mapped_column(BigInteger, server_default="0")
    #: Off for accounts that many concurrent transfers credit (a merchant's
    #: payable): updating one shared row would make them queue on its lock.
    #: Their balance is the sum of their postings; they cannot be guarded.
    balance_cached: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class Transfer(Base):
    __tablename__ = "ledger_transfer"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_ledger_transfer_ledger_kind", "ledger", "kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ledger: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    #: The money moved: the sum of the positive postings.
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: Hash of what the transfer moves, to tell a retry from a reused key.
    fingerprint: Mapped[str] = mapped_column(String(64))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("ledger_transfer.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class Posting(Base):
    __tablename__ = "ledger_posting"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_nonzero"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Deferred: postings are written before the transfer row that seals them.
    transfer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("ledger_transfer.id", deferrable=True, initially="DEFERRED"),
        index=True,
    )
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_account.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

"""Settlement batches, their lines per merchant, and which redemption is in which batch.

* ``SettlementBatch``: one run of a municipality's month (or any period):
  ``draft → approved → exported → paid``, or ``draft → cancelled``.
* ``SettlementLine``: what one merchant is paid in a batch. The creditor's
  name, IBAN and BIC are copied onto the line when the batch is approved, so
  the payment file and the statements say what was approved even if the
  merchant changes its bank account afterwards.
* ``SettlementItem``: a redemption claimed by a batch. Its primary key is the
  redemption id, so the database itself refuses to put a redemption into two
  batches. The claim lives in this narrow table and not in a column of
  ``redemption``: marking a million rows of the wide, nine-times-indexed
  redemption table costs about 30 s on PostgreSQL (every index gets a new
  entry per row), inserting a million rows here about 5 s (see
  ``docs/benchmarks.md``). For the same reason the items carry no foreign
  keys (each costs another 4 s per million rows on PostgreSQL);
  ``pasdienst ledger verify`` checks them instead, and triggers keep batches
  from being deleted and the items of a batch that is no longer a draft from
  being changed.
* ``SettlementTransition``: who moved a batch from which state to which,
  when; append-only.
* ``SettlementCorrection``: a redemption reversed by the municipality after
  it was settled; the next batch nets it off the merchant's line.
* ``SettlementReturn``: the bank sent a payment back (closed account, wrong
  name): one finance user records it, for one merchant's line or for every
  line of the batch, and a different one confirms it. Confirming writes a
  ``SettlementReturnedLine`` per line (the reversal of its settle transfer
  puts the money back on the merchant's payable), keeps the redemptions it
  held in ``SettlementReturnedItem`` for the statement, and releases them
  (and the corrections it netted) for the next batch. The batch keeps its
  state and figures: a line returned before payment is left out of the
  payout and of a first payment file; one returned after payment first comes
  back from the bank account into clearing.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base, BigIntPK

DRAFT = "draft"
APPROVED = "approved"
EXPORTED = "exported"
PAID = "paid"
CANCELLED = "cancelled"
BATCH_STATUSES: tuple[str, ...] = (DRAFT, APPROVED, EXPORTED, PAID, CANCELLED)
#: States in which the batch's settle transfers exist (its money left the payables).
SETTLED_STATUSES: tuple[str, ...] = (APPROVED, EXPORTED, PAID)

RETURN_REQUESTED = "requested"
RETURN_CONFIRMED = "confirmed"
RETURN_WITHDRAWN = "withdrawn"


class SettlementBatch(Base):
    __tablename__ = "settlement_batch"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'approved', 'exported', 'paid', 'cancelled')", name="status_known"
        ),
        CheckConstraint("count >= 0 AND total_cents >= 0", name="totals_not_negative"),
        Index("ix_settlement_batch_municipality_id_status", "municipality_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    status: Mapped[str] = mapped_column(String(16))
    #: Exclusive: the batch took redemptions whose Amsterdam date is before this day.
    until: Mapped[date] = mapped_column(Date)
    #: Amsterdam dates of its first and last redemption (both inclusive).
    period_from: Mapped[date | None] = mapped_column(Date)
    period_until: Mapped[date | None] = mapped_column(Date)
    #: Redemptions in the batch, and what it pays in total (net of corrections).
    count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    total_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    #: ``MsgId`` of the payment file: stable, so a re-export is recognised by the bank.
    message_id: Mapped[str | None] = mapped_column(String(35))
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    approved_at: Mapped[datetime | None]
    #: Fixed at the first export so that every later export is the identical file.
    exported_at: Mapped[datetime | None]
    execution_date: Mapped[date | None] = mapped_column(Date)
    sepa_schema: Mapped[str | None] = mapped_column(String(20))
    debtor_name: Mapped[str | None] = mapped_column(String(200))
    debtor_iban: Mapped[str | None] = mapped_column(String(34))
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    paid_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    paid_at: Mapped[datetime | None]
    payout_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    cancelled_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    cancelled_at: Mapped[datetime | None]


class SettlementLine(Base):
    __tablename__ = "settlement_line"
    __table_args__ = (
        UniqueConstraint("batch_id", "merchant_id", name="uq_settlement_line_batch_id_merchant_id"),
        # A merchant whose corrections eat up its redemptions gets no line
        # (and no payment) this time: its items wait for the next batch.
        CheckConstraint("total_cents > 0", name="total_positive"),
        CheckConstraint("total_cents = redeemed_cents - corrected_cents", name="total_is_net"),
        CheckConstraint("count > 0 AND corrected_cents >= 0", name="counts_sane"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("settlement_batch.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    #: Redemptions on the line and their sum; corrections netted off; what is paid.
    count: Mapped[int] = mapped_column(Integer)
    redeemed_cents: Mapped[int] = mapped_column(BigInteger)
    corrected_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    total_cents: Mapped[int] = mapped_column(BigInteger)
    #: When its first and last redemption were made.
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    # Set at approval: the payment exactly as approved.
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    creditor_name: Mapped[str | None] = mapped_column(String(200))
    creditor_iban: Mapped[str | None] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))
    settle_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)


class SettlementItem(Base):
    """A redemption claimed by a batch: one batch per redemption, by primary key."""

    __tablename__ = "settlement_item"

    # On SQLite this is the rowid itself: no separate index to maintain.
    redemption_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)


class SettlementTransition(Base):
    __tablename__ = "settlement_transition"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("settlement_batch.id"), index=True)
    #: None for the batch's creation.
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    #: None when the command line acted without a user (``settlement export``).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    by_email: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=now_utc)


class SettlementCorrection(Base):
    """A settled redemption reversed by the municipality: the voucher gets the
    money back, the merchant's payable is reduced, the next batch nets it off."""

    __tablename__ = "settlement_correction"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    redemption_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("redemption.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    settlement_batch_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("settlement_batch.id"), index=True)


class SettlementReturn(Base):
    """A payment the bank returned, recorded by one finance user and confirmed by another."""

    __tablename__ = "settlement_return"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'confirmed', 'withdrawn')", name="status_known"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("settlement_batch.id"), index=True)
    #: None: every line of the batch not returned yet.
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    requested_at: Mapped[datetime]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    decided_at: Mapped[datetime | None]
    #: What the confirmation took back (0 until then).
    amount_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")


class SettlementReturnedLine(Base):
    """A batch line whose payment came back: at most once per line (its primary key)."""

    __tablename__ = "settlement_returned_line"
    __table_args__ = (
        CheckConstraint("batch_status IN ('approved', 'exported', 'paid')", name="batch_status_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_settlement_returned_line_batch_id_merchant_id", "batch_id", "merchant_id"),
    )

    line_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("settlement_line.id"), primary_key=True, autoincrement=False
    )
    return_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("settlement_return.id"), index=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("settlement_batch.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    #: The line's total and count, as approved.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    #: The batch's state when the bank returned it: ``approved`` means the
    #: payment never reached a file, ``paid`` that it had left the bank account.
    batch_status: Mapped[str] = mapped_column(String(16))
    returned_at: Mapped[datetime]
    #: Clearing back to the merchant's payable: the reversal of the line's settle transfer.
    reversal_transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    #: Bank account back to clearing, for a line returned after the batch was paid.
    refund_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)


class SettlementReturnedItem(Base):
    """A redemption that was in a returned line (it is settled again by a later batch)."""

    __tablename__ = "settlement_returned_item"

    line_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)

"""Cooperations of municipalities (samenwerkingsverbanden), their members and merchants.

* ``Cooperation``: several municipalities running one kindpakket together.
  Its lead (``penvoerder``) is one of them; ``payout`` says who pays the
  merchants: each member from its own account (``members``), or the
  cooperation from one account with per-member allocation (``cooperation``).
* ``CooperationMember``: a municipality invited by the operator, a member
  once its own admin has agreed (``active``). A municipality is in one
  cooperation at a time.
* ``CooperationMerchant``: a merchant its own municipality's admin has
  admitted to the cooperation: it takes the passes of every active member.
* ``CooperationPayable``: for an admitted merchant and an active member other
  than its own municipality, the merchant's payable in that member's ledger
  partition. The till credits it for that member's children; the row is
  what lets the till do so, and goes when the merchant or the member leaves
  (the account stays, with whatever is still owed on it).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base, BigIntPK

PAYOUT_MEMBERS = "members"
PAYOUT_COOPERATION = "cooperation"
PAYOUTS: tuple[str, ...] = (PAYOUT_MEMBERS, PAYOUT_COOPERATION)

INVITED = "invited"
ACTIVE = "active"


class Cooperation(Base):
    __tablename__ = "cooperation"
    __table_args__ = (CheckConstraint("payout IN ('members', 'cooperation')", name="payout_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short lowercase code for the command line; its ledger partition is ``sv.<code>``.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The member that keeps the cooperation's books (penvoerder): its finance
    #: users make the cooperation's payment runs.
    lead_municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    #: ``members``: each member's batch pays from its own IBAN; ``cooperation``:
    #: one payment file from the cooperation's IBAN for all members' batches.
    payout: Mapped[str] = mapped_column(String(16))
    #: The account the cooperation pays merchants from (``payout = cooperation``).
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class CooperationMember(Base):
    __tablename__ = "cooperation_member"
    __table_args__ = (CheckConstraint("status IN ('invited', 'active')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperation_id: Mapped[int] = mapped_column(ForeignKey("cooperation.id"), index=True)
    #: One cooperation at a time.
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    invited_at: Mapped[datetime] = mapped_column(default=now_utc)
    joined_at: Mapped[datetime | None]
    #: The member's admin who agreed (None: the command line).
    joined_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))


class CooperationMerchant(Base):
    __tablename__ = "cooperation_merchant"

    #: A merchant is in its own municipality's cooperation, or in none.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), primary_key=True, autoincrement=False)
    cooperation_id: Mapped[int] = mapped_column(ForeignKey("cooperation.id"), index=True)
    admitted_at: Mapped[datetime] = mapped_column(default=now_utc)
    admitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))


class CooperationPayable(Base):
    __tablename__ = "cooperation_payable"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), primary_key=True, autoincrement=False)
    #: The member whose children's passes the merchant takes (never its own municipality).
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), primary_key=True, autoincrement=False)
    cooperation_id: Mapped[int] = mapped_column(ForeignKey("cooperation.id"), index=True)
    #: ``<member>:merchant:<id>`` in the member's partition.
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_account.id"), unique=True)


# -- the cooperation's own payment runs (``payout = cooperation``) -----------------------

RUN_REMITTED = "remitted"
RUN_EXPORTED = "exported"
RUN_PAID = "paid"
RUN_STATUSES: tuple[str, ...] = (RUN_REMITTED, RUN_EXPORTED, RUN_PAID)


class CooperationRun(Base):
    """One payment file of a cooperation that pays the merchants itself: the
    members' approved batches it took (``CooperationRemittance``), their
    shares moved into the cooperation's partition when it was made, and one
    credit transfer per merchant (``CooperationPayment``).
    ``remitted → exported → paid``; the member batches follow it."""

    __tablename__ = "cooperation_run"
    __table_args__ = (
        CheckConstraint("status IN ('remitted', 'exported', 'paid')", name="status_known"),
        CheckConstraint("count > 0 AND total_cents > 0", name="totals_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    cooperation_id: Mapped[int] = mapped_column(ForeignKey("cooperation.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    #: Redemptions paid (net of corrections) and what the file pays in total.
    count: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    #: Amsterdam dates of the first and last redemption of its batches.
    period_from: Mapped[date] = mapped_column(Date)
    period_until: Mapped[date] = mapped_column(Date)
    #: ``MsgId`` of its payment file (``KP-<date>-R<id>``).
    message_id: Mapped[str] = mapped_column(String(35))
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Fixed at the first export, so every later export is the identical file.
    exported_at: Mapped[datetime | None]
    execution_date: Mapped[date | None] = mapped_column(Date)
    sepa_schema: Mapped[str | None] = mapped_column(String(20))
    debtor_name: Mapped[str | None] = mapped_column(String(200))
    debtor_iban: Mapped[str | None] = mapped_column(String(34))
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    paid_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    paid_at: Mapped[datetime | None]
    #: The cooperation's clearing to its bank account.
    payout_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)


class CooperationRemittance(Base):
    """A member's approved batch taken into a run: its share moved to the
    cooperation by two labelled transfers, one in each partition."""

    __tablename__ = "cooperation_remittance"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    #: A batch is remitted at most once.
    batch_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("settlement_batch.id"), primary_key=True, autoincrement=False
    )
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cooperation_run.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    #: The batch's total less its lines the bank returned before.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    #: ``remit_to_cooperation`` in the member's partition: its clearing → its remitted account.
    member_transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    #: ``received_from_member`` in the cooperation's: the member's share account → its clearing.
    cooperation_transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)


class CooperationPayment(Base):
    """One credit transfer of a run's file: what one merchant gets from all members together."""

    __tablename__ = "cooperation_payment"
    __table_args__ = (CheckConstraint("amount_cents > 0 AND count > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cooperation_run.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    count: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    #: ``KP-R<run>-M<merchant>`` (``-2``… when members' lines carried other accounts).
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    #: As approved on the members' lines.
    creditor_name: Mapped[str] = mapped_column(String(200))
    creditor_iban: Mapped[str] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))

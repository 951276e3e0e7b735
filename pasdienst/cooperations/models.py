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

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base

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

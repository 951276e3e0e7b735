"""The four-eyes request: a change one admin asked for, waiting for a second person."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base

REQUEST_PENDING = "pending"
REQUEST_CONFIRMED = "confirmed"
REQUEST_REJECTED = "rejected"
REQUEST_CANCELLED = "cancelled"
REQUEST_STATUSES: tuple[str, ...] = (REQUEST_PENDING, REQUEST_CONFIRMED, REQUEST_REJECTED, REQUEST_CANCELLED)
#: A new admin or finance account; a new password for one; a merchant that becomes a payee.
USER_CREATE = "user.create"
USER_PASSWORD_RESET = "user.password_reset"
MERCHANT_APPROVE = "merchant.approve"
REQUEST_KINDS: tuple[str, ...] = (USER_CREATE, USER_PASSWORD_RESET, MERCHANT_APPROVE)


class FourEyesRequest(Base):
    """A change one admin asked for that takes effect only when a second person confirms it.

    The requester of a new account or password is shown its one-time
    password at once (only its hash is kept here); it starts to work on
    confirmation. IBAN changes keep their own table (``merchants.models.IbanChangeRequest``).
    """

    __tablename__ = "four_eyes_request"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'cancelled')", name="status_known"),
        CheckConstraint("kind IN ('user.create', 'user.password_reset', 'merchant.approve')", name="kind_known"),
        Index("ix_four_eyes_request_municipality_id_status", "municipality_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=now_utc)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    decided_at: Mapped[datetime | None]
    #: ``user.create``: the new account's address and role.
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str | None] = mapped_column(String(16))
    #: ``user.password_reset``: whose password; ``user.create``: the account made on confirmation.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"))
    #: argon2id of the one-time password the requester was shown; cleared once decided.
    password_hash: Mapped[str | None] = mapped_column(String(255))

"""Reminder moments, the log of what was sent, and the addresses that asked for no more."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base, BigIntPK

PLANNED = "planned"
STARTED = "started"
CANCELLED = "cancelled"
MOMENT_STATES = (PLANNED, STARTED, CANCELLED)

#: Outcomes of one e-mail. ``sending``: claimed by a run that has not yet
#: recorded the outcome; a run of the same moment after a crash turns what it
#: finds so into ``unknown`` and does not send it again (at most once).
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
OUTCOMES = (SENDING, SENT, FAILED, UNKNOWN)


class ReminderMoment(Base):
    """A moment the municipality reminds the families who have not used the pass of ``year``."""

    __tablename__ = "reminder_moment"
    __table_args__ = (
        CheckConstraint("state IN ('planned', 'started', 'cancelled')", name="state"),
        CheckConstraint("under_cents IS NULL OR under_cents > 0", name="under_positive"),
        Index("ix_reminder_moment_state_send_on", "state", "send_on"),
        Index("ix_reminder_moment_municipality_id_year", "municipality_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    #: The pass year whose holders are reminded.
    year: Mapped[int] = mapped_column(Integer)
    #: The day it goes out (from ``SEND_HOUR`` Amsterdam time on).
    send_on: Mapped[date] = mapped_column(Date)
    #: What the administrator called it ("Start schooljaar").
    title: Mapped[str] = mapped_column(String(100))
    #: Households that spent less than this are reminded; None: those who spent nothing.
    under_cents: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=PLANNED)
    #: The job that sends it (the newest, when it was started again after a failure).
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    created_by_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    started_at: Mapped[datetime | None]


class ReminderSend(Base):
    """One e-mail of a moment to one household address: who, when, the outcome. Never the message."""

    __tablename__ = "reminder_send"
    __table_args__ = (
        # A moment writes to an address once, also when its job runs again.
        UniqueConstraint("moment_id", "email", name="uq_reminder_send_moment_email"),
        CheckConstraint("outcome IN ('sending', 'sent', 'failed', 'unknown')", name="outcome"),
        CheckConstraint("children > 0", name="children_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    moment_id: Mapped[int] = mapped_column(ForeignKey("reminder_moment.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    #: The address written to, as imported (lower case).
    email: Mapped[str] = mapped_column(String(254))
    #: How many children the message named.
    children: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default=SENDING)
    #: Why it failed: the SMTP reply code ("550") or ``refused``; nothing else of the reply.
    error: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=now_utc)


class ReminderChild(Base):
    """The children a reminder named: the usage report counts who used the pass afterwards."""

    __tablename__ = "reminder_child"
    __table_args__ = (Index("ix_reminder_child_child_id", "child_id"),)

    send_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("reminder_send.id"), primary_key=True, autoincrement=False)
    child_id: Mapped[int] = mapped_column(ForeignKey("wallet_child.id"), primary_key=True, autoincrement=False)


class MailOptOut(Base):
    """An address that asked for no more reminders, as a keyed hash (``optout.email_hash``)."""

    __tablename__ = "mail_opt_out"

    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), primary_key=True, autoincrement=False)
    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

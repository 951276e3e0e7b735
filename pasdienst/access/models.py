from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base, BigIntPK

#: ``fund``: a user of an intermediary organisation (``maatwerk.models.Fund``) that awards from the fund's own money.
ROLES: tuple[str, ...] = ("admin", "finance", "caseworker", "merchant", "fund")
STAFF_ROLES: tuple[str, ...] = ("admin", "finance", "caseworker")


class User(Base):
    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "access_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'finance', 'caseworker', 'merchant', 'fund')", name="role_known"),
        # A merchant user acts for exactly one merchant; staff never for one.
        CheckConstraint(
            "(role = 'merchant' AND merchant_id IS NOT NULL) OR (role <> 'merchant' AND merchant_id IS NULL)",
            name="merchant_only_for_merchant_role",
        ),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: argon2id, ``$argon2id$v=19$…``; never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    #: Staff: the municipality they work for. Merchant users: their merchant's.
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    #: Set for a one-time password: the pages insist on a new one first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_login_at: Mapped[datetime | None]
    #: The admin who asked for this account or for its last password reset,
    #: and so saw its one-time password: whoever hands a password over could
    #: have used it. None: the operator's command line (the bootstrap).
    #: Four-eyes checks never let two accounts of one lineage act as two
    #: people (``access.policy.same_hands``).
    sponsor_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))


class LoginSession(Base):
    """One login in a browser, as the server knows it.

    The session cookie names it by a random key (stored here only as its
    SHA-256); a cookie whose row is gone is logged out, wherever it was
    copied to. Logout deletes the row; a new or reset password, and
    blocking the account, delete all of the user's rows.
    """

    __tablename__ = "access_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class ApiToken(Base):
    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"), index=True)
    #: SHA-256 hex of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Updated at most every few minutes, so API calls do not all write.
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


#: Every action an audit event can name: ``record_audit`` refuses any other, so
#: each has its Dutch name on the pages (``pasdienst.labels.AUDIT_ACTION_TITLES``).
#: Grouped by the dotted prefix the log's filter offers.
AUDIT_ACTIONS: frozenset[str] = frozenset({
    # passes and children
    "pass.issue", "pass.block", "pass.reissue", "passes.issue", "passes.export", "child.register", "children.import",
    "year.close",
    # reaching families who have not used the pass
    "reach.export", "reminder.plan", "reminder.cancel", "reminder.opt_out",
    "scheme.create", "scheme.update", "job.start",
    # money of the municipality
    "budget.topup", "municipality.budget_threshold", "municipality.set_iban",
    # how families reach the municipality (the pass page and the letter)
    "municipality.contact",
    # merchants
    "merchant.create", "merchant.status", "merchant.rename", "merchant.listing",
    "merchant.iban_change_request", "merchant.iban_change_confirm", "merchant.iban_change_cancel",
    "voucher_binding.create", "voucher_binding.delete",
    # settlement (``settlement.<status>`` for each state a batch enters)
    "settlement.draft", "settlement.approved", "settlement.exported", "settlement.paid", "settlement.cancelled",
    "settlement.correct", "settlement.return_request", "settlement.return_confirm", "settlement.return_withdraw",
    # cooperations of municipalities
    "cooperation.create", "cooperation.invite", "cooperation.join", "cooperation.leave", "cooperation.payout",
    "cooperation.merchant_admit", "cooperation.merchant_withdraw",
    "cooperation.run", "cooperation.run_exported", "cooperation.run_paid", "settlement.remit",
    # people and keys
    "user.create", "user.login", "user.password_change", "user.password_reset", "user.activate", "user.deactivate",
    "token.create", "token.revoke", "caseworker_cap.set",
    # maatwerk: teams, their budgets, funds and their awards
    "team.create", "team.member_add", "team.member_remove", "team.budget",
    "fund.create", "fund.topup", "fund.member_add", "maatwerk.award", "maatwerk.withdraw",
    # four eyes (``<kind>_<request|confirm|reject|cancel>`` of each kind of request)
    *(f"{kind}_{step}" for kind in ("user.create", "user.password_reset", "merchant.approve")
      for step in ("request", "confirm", "reject", "cancel")),
})


class AuditEvent(Base):
    """One staff action, written in the same transaction as the change.

    Append-only: database triggers refuse UPDATE and DELETE (revision 0003).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_municipality_id_at", "municipality_id", "at"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc)
    #: None for the command line and the system itself.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    #: A copy, so the event still reads right if the user is renamed.
    actor_email: Mapped[str] = mapped_column(String(254))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    #: Dotted verb, e.g. ``user.create``, ``merchant.create``, ``token.revoke``.
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    #: Snapshots without secrets or personal data (see ``services.record_audit``).
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

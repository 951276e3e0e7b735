"""Maatwerk: teams of case workers with a yearly euro budget, funds with their own money, and their awards.

A gebiedsteam (``Team``) of a municipality awards a child a specific amount
for a specific purpose out of the municipality's fund, within the team's
budget for the year (``TeamBudget``). A fund (``Fund``: Jeugdfonds Sport &
Cultuur, Stichting Leergeld) holds its own money in its own ledger account
and awards from there. Either award (``Award``) is a budget voucher on the
child's pass, optionally bound to one merchant, that the till and settlement
treat like any other voucher.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base

#: Why an award is made (``Award.reason``); ``other`` needs a note. Dutch names in ``labels.MAATWERK_REASON_TITLES``.
REASONS: tuple[str, ...] = ("membership", "equipment", "school_trip", "lessons", "other")
OTHER = "other"
#: Why an award is withdrawn (``Award.withdraw_reason``); ``other`` needs a note, as above. Dutch names in
#: ``labels.MAATWERK_WITHDRAW_REASON_TITLES``.
WITHDRAW_REASONS: tuple[str, ...] = ("mistake", "not_needed", "moved", "duplicate", OTHER)


class Team(Base):
    """A gebiedsteam of a municipality: case workers who award maatwerk from one yearly budget."""

    __tablename__ = "maatwerk_team"
    __table_args__ = (UniqueConstraint("municipality_id", "name", name="uq_maatwerk_team_municipality_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class TeamMember(Base):
    """A case worker's team: one team at a time (the user is the key)."""

    __tablename__ = "maatwerk_team_member"

    user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"), primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(ForeignKey("maatwerk_team.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=now_utc)


class TeamBudget(Base):
    """What a team may award in one year, in cents.

    Not money of its own (that stays in the municipality's fund until an
    award moves it): a ceiling. Its row is what two awards of one team lock,
    so they cannot both take the last of it.
    """

    __tablename__ = "maatwerk_team_budget"
    __table_args__ = (
        UniqueConstraint("team_id", "year", name="uq_maatwerk_team_budget_team_id_year"),
        CheckConstraint("budget_cents >= 0", name="budget_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("maatwerk_team.id"))
    year: Mapped[int] = mapped_column(Integer)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)


class Fund(Base):
    """An intermediary organisation that pays clubs and schools for children: its own money, its own users.

    Its money sits in the municipality's ledger partition on an account of
    its own (``books.fund_org_key``), topped up from its own source account
    by ``fund_topup`` transfers, so not a cent of it mixes with the
    municipality's fund.
    """

    __tablename__ = "maatwerk_fund"
    __table_args__ = (UniqueConstraint("municipality_id", "name", name="uq_maatwerk_fund_municipality_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    name: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_account.id"), unique=True)
    source_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_account.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class FundMember(Base):
    """A login of role ``fund`` and the fund it acts for (one fund per login)."""

    __tablename__ = "maatwerk_fund_member"

    user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"), primary_key=True, autoincrement=False)
    fund_id: Mapped[int] = mapped_column(ForeignKey("maatwerk_fund.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=now_utc)


class Award(Base):
    """A specific amount for a specific purpose, on one child's pass, by a team or a fund.

    Withdrawing it moves what is left unspent back to where it came from and
    keeps the row (``withdrawn_at``, ``returned_cents``, and why: ``withdraw_reason``,
    ``withdraw_note``): nothing is deleted.
    """

    __tablename__ = "maatwerk_award"
    __table_args__ = (
        CheckConstraint("(team_id IS NULL) <> (fund_id IS NULL)", name="team_or_fund"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "reason IN ('membership', 'equipment', 'school_trip', 'lessons', 'other')", name="reason_known"
        ),
        CheckConstraint(
            "(withdrawn_at IS NULL AND returned_cents IS NULL) OR "
            "(withdrawn_at IS NOT NULL AND returned_cents >= 0 AND returned_cents <= amount_cents)",
            name="withdrawn_returns",
        ),
        # NULL for the awards withdrawn before a reason was asked (migration 0025); the service always sets one.
        CheckConstraint(
            "withdraw_reason IS NULL OR (withdrawn_at IS NOT NULL AND "
            "withdraw_reason IN ('mistake', 'not_needed', 'moved', 'duplicate', 'other'))",
            name="withdraw_reason_known",
        ),
        Index("ix_maatwerk_award_team_id_year", "team_id", "year"),
        Index("ix_maatwerk_award_fund_id_year", "fund_id", "year"),
        Index("ix_maatwerk_award_municipality_id_year", "municipality_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    year: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("maatwerk_team.id"))
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("maatwerk_fund.id"))
    #: Who awarded it (a case worker of the team, a user of the fund).
    user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    child_id: Mapped[int] = mapped_column(ForeignKey("wallet_child.id"), index=True)
    #: The voucher it became (a reissue carries its balance to a successor, ``Voucher.carried_from_id``).
    voucher_id: Mapped[int] = mapped_column(ForeignKey("wallet_voucher.id"), unique=True)
    #: The one merchant that may take it (a ``voucher_binding`` of the voucher's code), or None: its category.
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"))
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(300))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    #: The transfer that funded the voucher (from the municipality's fund or the fund's account).
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ledger_transfer.id"), unique=True)
    #: The form's one-off key: a double click or a resubmitted form awards once.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    #: What went back on withdrawal: the unspent rest (what was spent stays spent).
    returned_cents: Mapped[int | None] = mapped_column(BigInteger)
    #: Why it was withdrawn (``WITHDRAW_REASONS``) and the withdrawer's note (required with ``other``).
    withdraw_reason: Mapped[str | None] = mapped_column(String(16))
    withdraw_note: Mapped[str | None] = mapped_column(String(300))

    @property
    def number(self) -> str:
        """``M-000012``: how the pages and the ledger's references name it."""
        return award_number(self.id)

    @property
    def voucher_code(self) -> str:
        return voucher_code(self.id)


def award_number(award_id: int) -> str:
    return f"M-{award_id:06d}"


def voucher_code(award_id: int) -> str:
    """The voucher's code, unique per award, so that a binding to a merchant binds this voucher only."""
    return f"maatwerk-{award_id}"

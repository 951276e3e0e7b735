"""Case workers' awards and caps."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base


class CaseworkerCap(Base):
    """How many discretionary passes each case worker of a municipality may issue in a year.

    One row per municipality and year; no row means no case worker may issue
    for that year until an admin sets a cap (DOMAIN.md §4: "per-team cap").
    """

    __tablename__ = "caseworker_cap"
    __table_args__ = (
        UniqueConstraint("municipality_id", "year", name="uq_caseworker_cap_municipality_id_year"),
        CheckConstraint("max_passes >= 0", name="max_passes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    year: Mapped[int] = mapped_column(Integer)
    max_passes: Mapped[int] = mapped_column(Integer)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)


class CaseworkerAward(Base):
    """A pass a case worker issued at their discretion (a child registered with an override reason).

    The count of these per case worker and year is what the cap limits.
    """

    __tablename__ = "caseworker_award"
    __table_args__ = (Index("ix_caseworker_award_user_id_year", "user_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("access_user.id"))
    child_id: Mapped[int] = mapped_column(ForeignKey("wallet_child.id"))
    #: One award per pass; a reissue of it is not a new award.
    pass_id: Mapped[int] = mapped_column(ForeignKey("wallet_pass.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

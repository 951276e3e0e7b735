from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base


class Municipality(Base):
    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short lowercase code used on the command line and in URLs, e.g. ``opsterland``.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The account providers are paid from (debtor of the SEPA file).
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    #: Warn on the budget page when the fund's free balance falls below this.
    low_budget_threshold_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

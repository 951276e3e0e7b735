from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db import Base

#: The longest desk address and opening hours: one or two lines on the pass page and the letter.
DESK_LIMIT = 200
HOURS_LIMIT = 200


@dataclass(frozen=True)
class Contact:
    """How a family reaches its municipality about the pass (lost, questions): each part optional.

    Shown on the pass page and on both letters; set by the municipality's
    admin (``services.set_contact``), checked by ``pasdienst.fields``.
    """

    phone: str | None = None
    email: str | None = None
    #: With its scheme, as stored (``https://www.opsterland.nl/kinderpas``).
    website: str | None = None
    #: Where the desk is: ``Gemeentehuis, Stationsweg 1, Gorredijk``.
    desk: str | None = None
    #: When the desk is open: ``ma t/m vr 9.00-12.30 uur``.
    hours: str | None = None

    @property
    def given(self) -> bool:
        """Whether any part is set (else the pages fall back to the municipality's name only)."""
        return any(asdict(self).values())

    @property
    def tel(self) -> str | None:
        """The ``tel:`` link of the phone number: its digits and a leading ``+`` only."""
        return "tel:" + re.sub(r"[^0-9+]", "", self.phone) if self.phone else None

    @property
    def mailto(self) -> str | None:
        """The ``mailto:`` link; ``?``, ``&`` and ``#`` a local part may hold are escaped, so they add no headers."""
        return "mailto:" + quote(self.email, safe="@.+-_!$'*~") if self.email else None

    @property
    def website_text(self) -> str | None:
        """The web address as a letter prints it: without ``https://`` and a trailing ``/``."""
        if not self.website:
            return None
        return re.sub(r"^https?://", "", self.website, flags=re.IGNORECASE).rstrip("/")

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


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
    #: Whom a family calls about its pass (``Contact``); all optional, shown on the pass page and letters.
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_website: Mapped[str | None] = mapped_column(String(300))
    contact_desk: Mapped[str | None] = mapped_column(String(DESK_LIMIT))
    contact_hours: Mapped[str | None] = mapped_column(String(HOURS_LIMIT))

    @property
    def contact(self) -> Contact:
        return Contact(
            phone=self.contact_phone, email=self.contact_email, website=self.contact_website,
            desk=self.contact_desk, hours=self.contact_hours,
        )

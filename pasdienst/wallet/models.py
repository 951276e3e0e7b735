"""Schemes, children, passes and vouchers.

Money is not stored here: each voucher owns a ledger account and its balance
lives there (``ledger.balance(session, voucher.account_id)``). Nothing here
holds a BSN, an income or a typed pass code in the clear: the BSN and the
code are keyed hashes, the income is encrypted (see ``keys.py``).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db import Base

BUDGET = "budget"
PUNCHCARD = "punchcard"
CHEQUE = "cheque"
VOUCHER_KINDS = (BUDGET, PUNCHCARD, CHEQUE)

CATEGORIES = ("sport_culture", "school", "transport", "clothing", "digital", "other")

ACTIVE = "active"
BLOCKED = "blocked"
REPLACED = "replaced"
EXPIRED = "expired"
PASS_STATUSES = (ACTIVE, BLOCKED, REPLACED, EXPIRED)

#: Why a pass is reissued (kept in the audit event; "other" comes with a note).
REISSUE_REASONS = ("lost", "stolen", "damaged", "other")

#: How a child's entitlement was decided (recorded on the pass; the income is not).
FULL = "full"
SLIDING = "sliding"
OVERRIDE = "override"
FULL_SHARE = 10_000  # basis points


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on ``day`` (a 29 February birthday falls on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Scheme(Base):
    """A municipality's entitlements for one year, loaded from its TOML file."""

    __tablename__ = "wallet_scheme"
    __table_args__ = (
        UniqueConstraint("municipality_id", "year", name="uq_wallet_scheme_municipality_year"),
        CheckConstraint("valid_from <= valid_until", name="dates_in_order"),
        CheckConstraint("mid_year IN ('full', 'pro_rata')", name="mid_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    year: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    #: Hundredths of a percent of the social minimum: 120 % is 12000.
    income_limit: Mapped[int] = mapped_column(Integer)
    #: ``[[up_to, share], ...]`` ascending: up to ``up_to`` hundredths of a
    #: percent a child gets ``share`` basis points (5000 = half).
    sliding_scale: Mapped[list[list[int]]] = mapped_column(JSON)
    #: Budgets of a child entering mid-year: ``full`` or ``pro_rata`` by month
    #: (``wallet.eligibility``).
    mid_year: Mapped[str] = mapped_column(String(16), server_default="full")
    #: Hash of the parsed content: loading the same file again is a no-op.
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    items: Mapped[list[SchemeItem]] = relationship(
        back_populates="scheme", order_by="SchemeItem.position", cascade="all, delete-orphan"
    )


class SchemeItem(Base):
    """One ``[[budget]]``, ``[[punchcard]]`` or ``[[cheque]]`` table of a scheme."""

    __tablename__ = "wallet_scheme_item"
    __table_args__ = (
        CheckConstraint("kind IN ('budget', 'punchcard', 'cheque')", name="kind"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("age_min >= 0 AND age_min <= age_max", name="ages"),
        CheckConstraint(
            "(kind = 'punchcard') = (strips IS NOT NULL AND strip_value_cents IS NOT NULL)", name="punchcard_strips"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("wallet_scheme.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    #: Punch cards and cheques have a code (``zwemmen``); budgets do not.
    code: Mapped[str | None] = mapped_column(String(40))
    #: The full entitlement in cents (a punch card: strips × strip value).
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    strips: Mapped[int | None] = mapped_column(Integer)
    strip_value_cents: Mapped[int | None] = mapped_column(BigInteger)
    age_min: Mapped[int] = mapped_column(Integer)
    age_max: Mapped[int] = mapped_column(Integer)

    scheme: Mapped[Scheme] = relationship(back_populates="items")


class ChildImport(Base):
    """One children file imported (the page or ``pasdienst children import``), for the back office's filter."""

    __tablename__ = "wallet_child_import"
    __table_args__ = (Index("ix_wallet_child_import_municipality_id_imported_at", "municipality_id", "imported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    #: The file's name as uploaded or given on the command line (without its folder).
    file_name: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Children the file added, and children whose data it changed.
    imported: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)


class Child(Base):
    """An eligible child as the municipality's own systems export it."""

    __tablename__ = "wallet_child"
    __table_args__ = (
        UniqueConstraint("municipality_id", "child_ref", name="uq_wallet_child_municipality_ref"),
        UniqueConstraint("municipality_id", "bsn_hash", name="uq_wallet_child_municipality_bsn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    #: The municipality's own id for the child.
    child_ref: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    household_ref: Mapped[str | None] = mapped_column(String(64))
    #: The income as a share of the social minimum, encrypted (MultiFernet);
    #: only eligibility reads it, and never in a log.
    income_sealed: Mapped[str | None] = mapped_column(Text)
    #: A case worker's reason to include the child regardless of income.
    override_reason: Mapped[str | None] = mapped_column(String(500))
    #: HMAC of the BSN, only to recognise the child in a later import.
    bsn_hash: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    postcode: Mapped[str | None] = mapped_column(String(7))
    #: Keyed hash of the imported row: re-importing the same row changes nothing.
    digest: Mapped[str] = mapped_column(String(64))
    #: The import file that added the child or last changed its data (None:
    #: registered or last changed by a case worker, or before imports were recorded).
    import_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_child_import.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


class ChildPass(Base):
    """One generation of a child's kinderpas for one year.

    A reissue makes a new row (a new generation, a new QR handle and typed
    code) and marks this one ``replaced``; the chain is kept as history.
    """

    __tablename__ = "wallet_pass"
    __table_args__ = (
        # One pass per child and year per generation: two issuing runs or two
        # reissues racing each other cannot both write.
        UniqueConstraint("child_id", "year", "generation", name="uq_wallet_pass_child_year_generation"),
        CheckConstraint("status IN ('active', 'blocked', 'replaced', 'expired')", name="status"),
        CheckConstraint("award_basis IN ('full', 'sliding', 'override')", name="award_basis"),
        CheckConstraint("award_share > 0 AND award_share <= 10000", name="award_share"),
        Index("ix_wallet_pass_municipality_year_status", "municipality_id", "year", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    child_id: Mapped[int] = mapped_column(ForeignKey("wallet_child.id"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("wallet_scheme.id"))
    year: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    #: The random half of the QR token (13 base32 characters); unique.
    handle: Mapped[str] = mapped_column(String(16), unique=True)
    #: HMAC of the normalised typed code; the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    award_basis: Mapped[str] = mapped_column(String(16))
    #: Share of the full entitlement in basis points (10000 = all of it).
    award_share: Mapped[int] = mapped_column(Integer)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_pass.id"), unique=True)
    blocked_at: Mapped[datetime | None] = mapped_column()
    block_reason: Mapped[str | None] = mapped_column(String(500))
    expired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    child: Mapped[Child] = relationship()
    vouchers: Mapped[list[Voucher]] = relationship(back_populates="child_pass", order_by="Voucher.id")

    @property
    def pass_number(self) -> str:
        """The non-secret number printed on letters, for the help desk."""
        return format_pass_number(self.year, self.id)

    def audit_snapshot(self) -> dict[str, object]:
        """What the audit log keeps of a pass before and after a change
        (no handle or code: they would let the reader use the pass)."""
        return {
            "pass": self.pass_number,
            "child_id": self.child_id,
            "status": self.status,
            "generation": self.generation,
            "block_reason": self.block_reason,
        }


def format_pass_number(year: int, pass_id: int) -> str:
    return f"KP-{year}-{pass_id:06d}"


class Voucher(Base):
    """A budget, punch card or cheque on a pass, with its own ledger account."""

    __tablename__ = "wallet_voucher"
    __table_args__ = (
        CheckConstraint("kind IN ('budget', 'punchcard', 'cheque')", name="kind"),
        CheckConstraint("initial_cents >= 0", name="initial_not_negative"),
        CheckConstraint(
            "(kind = 'punchcard') = (strip_value_cents IS NOT NULL AND strip_value_cents > 0)", name="strip_value"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("wallet_pass.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_account.id"), unique=True)
    #: What the voucher started with: the award, or what a reissue carried over.
    initial_cents: Mapped[int] = mapped_column(BigInteger)
    strip_value_cents: Mapped[int | None] = mapped_column(BigInteger)
    valid_until: Mapped[date] = mapped_column(Date)
    #: The voucher of the replaced pass whose balance this one carried over.
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_voucher.id"), unique=True)
    #: Where unused money goes back to (year end, a void after it): None is the
    #: municipality's fund; a fund's own account for its award (``maatwerk``),
    #: by a ``fund_return`` transfer. A reissue carries it to the successor.
    return_account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    child_pass: Mapped[ChildPass] = relationship(back_populates="vouchers")

    @property
    def initial_strips(self) -> int | None:
        return self.initial_cents // self.strip_value_cents if self.strip_value_cents else None


class PassImage(Base):
    """The QR code of a pass, rendered once and served from here."""

    __tablename__ = "wallet_pass_image"

    pass_id: Mapped[int] = mapped_column(ForeignKey("wallet_pass.id"), primary_key=True, autoincrement=False)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    svg: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

"""The wallet's public services, for the CLI, the web and other packages.

Each takes a SQLAlchemy session (plus settings and "today" where it needs
them), flushes and never commits: the caller owns the transaction.

* ``load_scheme`` — create or update a scheme from TOML text.
* ``import_children`` — the municipality's CSV export of children;
  ``register_child`` — one child typed into a form, by the same row rules.
* ``issue_passes`` — a pass for every eligible child, funded from the fund;
  ``issue_for_child`` — one child's (a case worker's award).
* ``resolve_pass`` — what the redeem package calls with a scan or typed code.
* ``block_pass`` / ``reissue_pass`` — a lost pass.
* ``close_year`` — expire a year's passes, return unused money.
* ``pass_view`` / ``export_rows`` — what the holder's page, the letter and
  the print house's mail merge show.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..config import Settings
from ..ledger import Account
from ..municipalities.models import Contact, Municipality
from ..municipalities.services import get_municipality
from . import codes, labels, tokens
from .children import ImportResult, import_children, register_child
from .codes import looks_like_typed_code
from .issue_one import issue_for_child
from .issuing import IssueResult, issue_passes
from .lifecycle import (
    block_pass,
    check_usable,
    find_pass,
    pass_by_token,
    reissue_pass,
    replaced_by,
    resolve_pass,
)
from .models import (
    ACTIVE,
    EXPIRED,
    PUNCHCARD,
    Child,
    ChildPass,
    Voucher,
    format_pass_number,
)
from .schemes import LoadResult, load_scheme
from .yearend import YearEndResult, close_year

__all__ = [
    "ExportRow",
    "ImportResult",
    "IssueResult",
    "LoadResult",
    "PassView",
    "VoucherView",
    "YearEndResult",
    "block_pass",
    "check_usable",
    "close_year",
    "export_rows",
    "find_pass",
    "import_children",
    "issue_for_child",
    "issue_passes",
    "load_scheme",
    "looks_like_typed_code",
    "pass_by_token",
    "pass_view",
    "register_child",
    "reissue_pass",
    "replaced_by",
    "resolve_pass",
]


@dataclass(frozen=True)
class VoucherView:
    title: str
    kind: str
    category: str
    balance_cents: int
    balance: str
    strips_left: int | None
    strips_total: int | None
    valid_until: str
    where: str
    id: int = 0
    #: The scheme's code (``zwemmen``), which bindings to merchants go by.
    code: str | None = None
    #: A punch card's value per strip (``€ 4,50``).
    strip_value: str | None = None


@dataclass(frozen=True)
class PassView:
    pass_number: str
    status: str
    first_name: str
    municipality_name: str
    url: str
    token: str
    code: str | None
    valid_from: str
    valid_until: str
    not_yet_valid: bool
    expired: bool
    vouchers: list[VoucherView]
    #: Whom to call about the pass (the municipality's own details; parts may be None).
    contact: Contact
    #: Today as a letter is dated: ``3 december 2026``.
    letter_date: str


def pass_view(session: Session, child_pass: ChildPass, *, settings: Settings, today: date) -> PassView:
    """Everything the holder's page and letter show, as plain values."""
    municipality = session.get(Municipality, child_pass.municipality_id)
    child = session.get(Child, child_pass.child_id)
    assert municipality is not None and child is not None
    rows = session.execute(
        select(Voucher, Account.balance)
        .join(Account, Account.id == Voucher.account_id)
        .where(Voucher.pass_id == child_pass.id)
        .order_by(Voucher.id)
    ).all()
    vouchers = []
    for voucher, balance in rows:
        strip = voucher.strip_value_cents if voucher.kind == PUNCHCARD else None
        vouchers.append(
            VoucherView(
                title=labels.voucher_title(voucher.kind, voucher.category, voucher.code),
                kind=voucher.kind,
                category=voucher.category,
                balance_cents=int(balance),
                balance=labels.euros(int(balance)),
                strips_left=int(balance) // strip if strip else None,
                strips_total=voucher.initial_cents // strip if strip else None,
                valid_until=labels.long_date(voucher.valid_until),
                where=labels.WHERE_TO_SPEND[voucher.category],
                id=voucher.id,
                code=voucher.code,
                strip_value=labels.euros(strip) if strip else None,
            )
        )
    code = codes.code_of(settings, child_pass.handle, child_pass.code_hash)
    token = tokens.token_for(settings, child_pass.handle)
    return PassView(
        pass_number=child_pass.pass_number,
        status=child_pass.status,
        first_name=child.first_name,
        municipality_name=municipality.name,
        url=f"{settings.base_url}/p/{token}",
        token=token,
        code=codes.display(code) if code else None,
        valid_from=labels.long_date(child_pass.valid_from),
        valid_until=labels.long_date(child_pass.valid_until),
        not_yet_valid=today < child_pass.valid_from,
        expired=child_pass.status == EXPIRED or today > child_pass.valid_until,
        vouchers=vouchers,
        contact=municipality.contact,
        letter_date=labels.long_date(today),
    )


@dataclass(frozen=True)
class ExportRow:
    child_ref: str
    first_name: str
    pass_id: str
    url: str
    code: str
    valid_until: str

    def cells(self) -> tuple[str, ...]:
        """The row's cells in the order of ``EXPORT_COLUMNS``."""
        return (self.child_ref, self.first_name, self.pass_id, self.url, self.code, self.valid_until)


EXPORT_COLUMNS = ("child_ref", "first_name", "pass_id", "url", "code", "valid_until")


def export_rows(
    session: Session, municipality_code: str, *, settings: Settings, today: date, actor: Actor | None = None,
) -> list[ExportRow]:
    """The mail-merge rows: every pass that is neither blocked nor expired
    (passes whose year has not started yet included).

    With ``actor`` (an admin of the municipality, or ``CLI_ACTOR``) it is
    audited as ``passes.export`` with the number of passes: the file holds
    every current pass's link and typed code, which are as good as the pass.
    Without, the rows are read for a test or a benchmark."""
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    found = session.execute(
        select(ChildPass.id, ChildPass.year, ChildPass.handle, ChildPass.code_hash, ChildPass.valid_until,
               Child.child_ref, Child.first_name)
        .join(Child, Child.id == ChildPass.child_id)
        .where(
            ChildPass.municipality_id == municipality.id,
            ChildPass.status == ACTIVE,
            ChildPass.valid_until >= today,
        )
        .order_by(ChildPass.id)
    ).all()
    rows = []
    for pass_id, year, handle, code_hash, valid_until, child_ref, first_name in found:
        code = codes.code_of(settings, handle, code_hash)
        rows.append(
            ExportRow(
                child_ref=child_ref,
                first_name=first_name,
                pass_id=format_pass_number(year, pass_id),
                url=tokens.payload_for(settings, handle),
                code=codes.display(code) if code else "",
                valid_until=valid_until.isoformat(),
            )
        )
    if actor is not None:
        record_audit(session, actor, "passes.export", "municipality", municipality.id, after={"passes": len(rows)},
                     municipality_id=municipality.id)
    return rows

"""Year end: the year's passes expire and every unused cent returns to the fund.

Each voucher with a balance sends it to the municipality's ``expired``
account (one ``expire`` transfer per voucher, so the books show what lapsed
where), then one ``return`` transfer moves the total back to the fund, in the
same transaction. What the run looks at is state, not history: passes still
active or blocked, vouchers still holding money. A second run finds neither
and changes nothing (the command line's behaviour), or is refused when the
caller asks for the year to be closed exactly once (the back office's job).

:func:`preview_year_end` reads what a run would do now with the same two
statements :func:`close_year` acts on (``_expiring`` and ``_holding``), so the
preview and the outcome cannot count differently.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..clock import now_utc
from ..db import rowcount
from ..ledger import Account, NewTransfer
from ..money import format_euros
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..settlement.claims import lock_municipality
from .errors import NothingToClose, YearAlreadyClosed, YearNotOver
from .models import ACTIVE, BLOCKED, EXPIRED, ChildPass, Voucher
from .schemes import get_scheme

#: Why a year cannot be closed now (``YearEndPreview.refusal``), as error codes.
NOT_OVER = YearNotOver.code
ALREADY_CLOSED = YearAlreadyClosed.code
NO_PASSES = NothingToClose.code

#: Expire transfers per ledger batch: the job's progress bar moves per batch.
_BATCH = 5_000


@dataclass(frozen=True)
class YearEndLine:
    """Money that returns to the fund from one kind of voucher in one category."""

    kind: str
    category: str
    vouchers: int
    cents: int


@dataclass(frozen=True)
class YearEndResult:
    municipality: str
    year: int
    passes_expired: int
    vouchers_emptied: int
    returned_cents: int
    #: Per voucher kind and category, sorted: what came back to the fund.
    lines: tuple[YearEndLine, ...] = field(default=(), compare=False)

    def summary(self) -> str:
        return (
            f"year end {self.municipality} {self.year}: {self.passes_expired} passes expired, "
            f"{format_euros(self.returned_cents)} from {self.vouchers_emptied} vouchers returned to the fund"
        )


@dataclass(frozen=True)
class YearEndPreview:
    """What :func:`close_year` would do now, without writing anything."""

    municipality: str
    year: int
    valid_until: date
    #: Active and blocked passes of the year: they expire.
    passes_expiring: int
    #: Every pass of the year, in any state.
    passes_total: int
    lines: tuple[YearEndLine, ...]
    #: None when the year can be closed now; else ``year_not_over``,
    #: ``year_closed`` or ``nothing_to_close``.
    refusal: str | None

    @property
    def closes_from(self) -> date:
        return self.valid_until + timedelta(days=1)

    @property
    def vouchers(self) -> int:
        return sum(line.vouchers for line in self.lines)

    @property
    def total_cents(self) -> int:
        return sum(line.cents for line in self.lines)


def _expiring(municipality_id: int, year: int) -> tuple[ColumnElement[bool], ...]:
    """The passes a run expires: the year's passes that are still active or blocked."""
    return (
        ChildPass.municipality_id == municipality_id,
        ChildPass.year == year,
        ChildPass.status.in_((ACTIVE, BLOCKED)),
    )


def _holding(municipality_id: int, year: int) -> Select[int, str, str, int, int, int | None]:
    """The vouchers a run empties: every voucher of the year's passes (in any
    state) whose account holds money, with that money."""
    return (
        select(Voucher.id, Voucher.kind, Voucher.category, Account.id.label("account_id"), Account.balance,
               Voucher.return_account_id)
        .join(ChildPass, ChildPass.id == Voucher.pass_id)
        .join(Account, Account.id == Voucher.account_id)
        .where(ChildPass.municipality_id == municipality_id, ChildPass.year == year, Account.balance > 0)
    )


def _lines(rows: Iterable[Sequence[Any]]) -> tuple[YearEndLine, ...]:
    """(kind, category, vouchers, cents) rows as sorted lines, summed per kind and category."""
    summed: dict[tuple[str, str], tuple[int, int]] = {}
    for kind, category, vouchers, cents in rows:
        count, total = summed.get((kind, category), (0, 0))
        summed[(kind, category)] = (count + int(vouchers), total + int(cents))
    return tuple(YearEndLine(kind, category, n, cents) for (kind, category), (n, cents) in sorted(summed.items()))


def _count_passes(session: Session, *conditions: ColumnElement[bool]) -> int:
    return session.execute(select(func.count()).select_from(ChildPass).where(*conditions)).scalar_one()


def _refusal(
    session: Session, municipality: Municipality, year: int, valid_until: date, today: date,
    *, expiring: int, holding: int,
) -> tuple[str | None, int]:
    """Why the year cannot be closed (or None), and how many passes it has."""
    total = _count_passes(session, ChildPass.municipality_id == municipality.id, ChildPass.year == year)
    if today <= valid_until:
        return NOT_OVER, total
    if expiring or holding:
        return None, total
    return (ALREADY_CLOSED if total else NO_PASSES), total


def preview_year_end(session: Session, municipality_code: str, year: int, *, today: date) -> YearEndPreview:
    """Count what closing ``year`` would do now: the passes that expire and,
    per voucher kind and category, the money that returns to the fund; with
    the reason it would be refused, if it would be. Writes nothing."""
    municipality = get_municipality(session, municipality_code)
    scheme = get_scheme(session, municipality.id, year, code=municipality.code)
    expiring = _count_passes(session, *_expiring(municipality.id, year))
    holding = _holding(municipality.id, year).subquery()
    lines = _lines(
        session.execute(
            select(holding.c.kind, holding.c.category, func.count(), func.sum(holding.c.balance))
            .group_by(holding.c.kind, holding.c.category)
        ).all()
    )
    refusal, total = _refusal(
        session, municipality, year, scheme.valid_until, today,
        expiring=expiring, holding=sum(line.vouchers for line in lines),
    )
    return YearEndPreview(
        municipality=municipality.code, year=year, valid_until=scheme.valid_until, passes_expiring=expiring,
        passes_total=total, lines=lines, refusal=refusal,
    )


def close_year(
    session: Session,
    municipality_code: str,
    year: int,
    *,
    today: date,
    actor: Actor | None = None,
    once: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> YearEndResult:
    """Expire the year's passes and return their unused balances to the fund,
    and record ``year.close`` in the audit log (when anything changed and an ``actor`` is given).

    Refused (``YearNotOver``) while the year's passes are still valid (until
    their ``valid_until``, inclusive). A year with nothing left to close
    changes nothing; with ``once`` it is refused instead (``YearAlreadyClosed``,
    or ``NothingToClose`` when the year has no passes at all), decided under
    the lock, so of two runs at once exactly one closes the year.

    ``actor`` is an admin of the municipality (the job of ``/admin/jaarafsluiting``)
    or ``CLI_ACTOR``; without one nothing is audited (tests seeding a closed
    year). ``progress(done, total)`` follows the expire transfers.
    """
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    scheme = get_scheme(session, municipality.id, year, code=municipality.code)
    if today <= scheme.valid_until:
        raise YearNotOver(
            f"the {year} passes of {municipality.code} are valid until {scheme.valid_until}; "
            f"year end can run from {scheme.valid_until + timedelta(days=1)}",
            year=year, valid_until=scheme.valid_until.isoformat(),
        )
    now = now_utc()
    # Voids and corrections give money back onto vouchers and then read
    # whether the year is closed (wallet/lifecycle.py follow_child): they
    # hold this lock, so each sees the year either open (and this run sweeps
    # what it gave back) or closed (and it returns the money to the fund).
    lock_municipality(session, municipality.id)
    # The accounts, then the passes (lock order, docs/ARCHITECTURE.md).
    holding = session.execute(
        _holding(municipality.id, year).order_by(Account.id).with_for_update(of=Account)
    ).all()
    expired = rowcount(session.execute(
        update(ChildPass)
        .where(*_expiring(municipality.id, year))
        .values(status=EXPIRED, expired_at=now)
        .execution_options(synchronize_session=False)
    ))
    if once and not (expired or holding):
        if _count_passes(session, ChildPass.municipality_id == municipality.id, ChildPass.year == year):
            raise YearAlreadyClosed(f"the year {year} of {municipality.code} is already closed", year=year)
        raise NothingToClose(f"{municipality.code} has no passes for {year}; there is nothing to close", year=year)
    total = sum(int(row.balance) for row in holding)
    # A fund's award (maatwerk) goes back to that fund's own account, never to the municipality's fund.
    to_fund = sum(int(row.balance) for row in holding if row.return_account_id is None)
    if holding:
        expired_account = ledger.get_account(session, books.expired_key(municipality.code))
        fund = ledger.get_account(session, books.fund_key(municipality.code))
        for start in range(0, len(holding), _BATCH):
            ledger.post_many(
                session,
                [
                    NewTransfer.move(
                        books.EXPIRE, row.account_id, expired_account.id, int(row.balance),
                        reference=f"year end {year} voucher {row.id}",
                    )
                    if row.return_account_id is None else
                    NewTransfer.move(
                        books.FUND_RETURN, row.account_id, row.return_account_id, int(row.balance),
                        reference=f"year end {year} voucher {row.id}: back to its fund",
                    )
                    for row in holding[start : start + _BATCH]
                ],
                now=now,
            )
            if progress:
                progress(min(start + _BATCH, len(holding)), len(holding))
        if to_fund:
            ledger.transfer(
                session, kind=books.RETURN, source=expired_account.id, destination=fund.id, amount=to_fund,
                reference=f"year end {year}: unused balances back to the fund", now=now,
            )
    result = YearEndResult(
        municipality.code, year, expired, len(holding), total,
        lines=_lines([(row.kind, row.category, 1, row.balance) for row in holding]),
    )
    if actor is not None and (expired or holding):
        record_audit(
            session, actor, "year.close", "municipality", municipality.id,
            after={"year": year, "passes_expired": expired, "vouchers_emptied": len(holding), "returned_cents": total},
            municipality_id=municipality.id,
        )
    return result

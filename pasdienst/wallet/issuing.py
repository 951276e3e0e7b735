"""Issuing passes: every eligible child one kinderpas, funded from the fund.

A run is all or nothing. It first works out every pass and voucher and the
total they need; when the fund does not cover that total it refuses, saying
by how much it falls short, before writing anything. Otherwise it writes
passes, vouchers, their ledger accounts and one ``issue`` transfer per pass
(the fund pays; each voucher of the pass is credited its own amount) in
set-based batches, all in the caller's transaction. A second run only
issues to children who have no pass for the year yet.

One child's pass by the same rules is ``issue_one``; what a run would do,
counted without writing, is ``issue_preview``; both plan with this module's
``plan_run``/``ItemValues`` and write with ``write_passes``.

QR images are not rendered here: that is a separate phase after the money is
committed (``qr.render_missing``), so that issuing stays fast and a rendering
problem can never undo an issue.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..clock import local_date, now_utc
from ..config import Settings
from ..db import allocate_ids, insert_rows
from ..ledger import Leg, NewTransfer, open_accounts
from ..money import format_euros
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from . import codes, keys, tokens
from .eligibility import Entry, Item, award_for, entry, grants_for
from .errors import BudgetShort, PassStateConflict
from .models import ACTIVE, BUDGET, Child, ChildPass, Scheme, SchemeItem, Voucher, format_pass_number
from .schemes import get_scheme

_CHUNK = 2000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PlannedVoucher:
    kind: str
    category: str
    code: str | None
    cents: int
    strip_value_cents: int | None
    valid_until: date
    #: Where the money comes from: the fund (issue) or an old voucher (carry-over).
    source_account: int
    transfer_kind: str
    carried_from_id: int | None = None
    #: ``Voucher.return_account_id``: None, the municipality's fund.
    return_account_id: int | None = None


@dataclass
class PlannedPass:
    child_id: int
    scheme_id: int
    year: int
    generation: int
    valid_from: date
    valid_until: date
    award_basis: str
    award_share: int
    vouchers: list[PlannedVoucher]
    replaces_id: int | None = None


@dataclass
class IssueResult:
    municipality: str
    year: int
    issued: int = 0
    vouchers: int = 0
    total_cents: int = 0
    not_eligible: int = 0
    pass_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"issued {self.issued} passes with {self.vouchers} vouchers for {self.municipality} {self.year}, "
            f"{format_euros(self.total_cents)} from the fund; {self.not_eligible} children not eligible"
        )


def write_passes(
    session: Session,
    municipality: Municipality,
    plans: Sequence[PlannedPass],
    *,
    settings: Settings,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Write passes, vouchers, voucher accounts and the transfers that fund them.

    Money from the fund arrives in one ``issue`` transfer per pass (the fund
    pays, each voucher of the pass receives its share); money carried over
    from an older pass moves voucher by voucher.
    """
    pass_ids: list[int] = []
    handles_seen: set[str] = set()
    code, municipality_id = municipality.code, municipality.id
    pass_table = ChildPass.__table__
    voucher_table = Voucher.__table__
    for start in range(0, len(plans), _CHUNK):
        chunk = plans[start : start + _CHUNK]
        created = now_utc()
        ids = allocate_ids(session, pass_table, len(chunk))
        pass_rows = []
        for pid, plan in zip(ids, chunk, strict=True):
            handle = tokens.new_handle()
            while handle in handles_seen:
                handle = tokens.new_handle()
            handles_seen.add(handle)
            _code, code_hash = codes.new_code(settings, handle)
            pass_rows.append(
                dict(
                    id=pid, municipality_id=municipality_id, child_id=plan.child_id, scheme_id=plan.scheme_id,
                    year=plan.year, generation=plan.generation, status=ACTIVE,
                    valid_from=plan.valid_from, valid_until=plan.valid_until, handle=handle,
                    code_hash=code_hash, award_basis=plan.award_basis, award_share=plan.award_share,
                    replaces_id=plan.replaces_id, blocked_at=None, block_reason=None, expired_at=None,
                    created_at=created,
                )
            )
        insert_rows(session, pass_table, pass_rows)
        pass_ids.extend(ids)

        planned = [(pid, v) for pid, plan in zip(ids, chunk, strict=True) for v in plan.vouchers]
        voucher_ids = allocate_ids(session, voucher_table, len(planned))
        account_ids = open_accounts(
            session, [(books.voucher_key(code, vid), books.VOUCHER, code, True) for vid in voucher_ids]
        )
        voucher_rows = []
        legs: dict[tuple[int, int, str], list[Leg]] = defaultdict(list)
        for vid, account_id, (pid, v) in zip(voucher_ids, account_ids, planned, strict=True):
            voucher_rows.append(
                dict(
                    id=vid, pass_id=pid, municipality_id=municipality_id, kind=v.kind, category=v.category,
                    code=v.code, account_id=account_id, initial_cents=v.cents,
                    strip_value_cents=v.strip_value_cents, valid_until=v.valid_until,
                    carried_from_id=v.carried_from_id, return_account_id=v.return_account_id, created_at=created,
                )
            )
            if v.cents > 0:
                # One transfer per pass and source: the fund once, each old voucher apart.
                legs[(pid, v.source_account, v.transfer_kind)].append(Leg(account_id, v.cents))
        if voucher_rows:
            insert_rows(session, voucher_table, voucher_rows)
        year_of = {pid: plan.year for pid, plan in zip(ids, chunk, strict=True)}
        transfers = [
            NewTransfer(
                kind,
                (Leg(source, -sum(leg.amount for leg in credits)), *credits),
                reference=format_pass_number(year_of[pid], pid),
            )
            for (pid, source, kind), credits in legs.items()
        ]
        if transfers:
            ledger.post_many(session, transfers, now=created)
        if progress:
            progress(len(chunk))
    return pass_ids


@dataclass(frozen=True)
class AddedVoucher:
    voucher: Voucher
    transfer: ledger.Posted


def add_voucher(
    session: Session,
    child_pass: ChildPass,
    *,
    category: str,
    code: str,
    cents: int,
    source_account: int,
    transfer_kind: str,
    reference: str,
    return_account_id: int | None = None,
) -> AddedVoucher:
    """One more budget voucher on an active pass, funded by one ``transfer_kind`` transfer from ``source_account``.

    For an award made after the pass was issued (maatwerk). The caller holds
    the pass row locked (``lifecycle.find_pass(for_update=True)``) and has
    checked that it is active; the voucher lasts as long as the pass. Unused
    money goes back to ``return_account_id`` (None: the fund). Raises
    ``ledger.InsufficientFunds`` when the source cannot pay (nothing written
    that the caller's rollback would not undo).
    """
    if child_pass.status != ACTIVE:
        raise PassStateConflict(f"pass {child_pass.pass_number} is {child_pass.status}, not active")
    (voucher_id,) = allocate_ids(session, Voucher.__table__, 1)
    municipality_code = session.execute(
        select(Municipality.code).where(Municipality.id == child_pass.municipality_id)
    ).scalar_one()
    account_id = ledger.open_account(
        session, key=books.voucher_key(municipality_code, voucher_id), kind=books.VOUCHER, ledger=municipality_code,
    )
    voucher = Voucher(
        id=voucher_id, pass_id=child_pass.id, municipality_id=child_pass.municipality_id, kind=BUDGET,
        category=category, code=code, account_id=account_id, initial_cents=cents, strip_value_cents=None,
        valid_until=child_pass.valid_until, carried_from_id=None, return_account_id=return_account_id,
        created_at=now_utc(),
    )
    session.add(voucher)
    session.flush()
    posted = ledger.transfer(
        session, kind=transfer_kind, source=source_account, destination=account_id, amount=cents, reference=reference,
    )
    return AddedVoucher(voucher, posted)


def issue_passes(
    session: Session,
    municipality_code: str,
    year: int,
    *,
    settings: Settings,
    today: date,
    progress: Progress | None = None,
    actor: Actor | None = None,
    job_id: int | None = None,
) -> IssueResult:
    """Issue a pass to every eligible child of the municipality without one for ``year``.

    Raises ``BudgetShort`` (nothing written) when the fund does not cover
    the run, and ``PassStateConflict`` when the scheme's year is over.
    With ``actor`` (an admin of the municipality, or ``CLI_ACTOR``) a run
    that issued anything is audited as ``passes.issue`` with its counts (and
    ``job_id``, the background job that ran it); without, it is data being
    seeded (the demo, tests, benchmarks).
    """
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    # One issuing run per municipality at a time: a second run waits here and
    # then sees the first one's passes (SQLite: BEGIN IMMEDIATE already
    # serialises writers), instead of failing on the unique pass index.
    session.execute(select(Municipality.id).where(Municipality.id == municipality.id).with_for_update())
    scheme = get_scheme(session, municipality.id, year, code=municipality.code)
    if today > scheme.valid_until:
        raise PassStateConflict(
            f"the {year} scheme of {municipality.code} ended on {scheme.valid_until}; no passes can be issued for it",
            refusal="scheme_over", year=year,
        )
    result = IssueResult(municipality.code, year)
    fund = ledger.get_account(session, books.fund_key(municipality.code))
    plans = plan_run(session, municipality, scheme, settings, fund.id, result, today=today)
    needed = sum(v.cents for plan in plans for v in plan.vouchers)
    available = ledger.balance(session, fund.id)
    if needed > available:
        raise BudgetShort(
            f"the fund of {municipality.code} holds {format_euros(available)} but {len(plans)} passes need "
            f"{format_euros(needed)}: {format_euros(needed - available)} short; nothing was issued",
            needed=needed,
            available=available,
        )
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, len(plans))

    result.pass_ids = write_passes(session, municipality, plans, settings=settings, progress=advance)
    result.issued = len(plans)
    result.vouchers = sum(len(plan.vouchers) for plan in plans)
    result.total_cents = needed
    if actor is not None and result.issued:
        record_audit(
            session, actor, "passes.issue", "municipality", municipality.id,
            after={"year": year, "issued": result.issued, "vouchers": result.vouchers, "total_cents": needed,
                   **({"job": job_id} if job_id is not None else {})},
            municipality_id=municipality.id,
        )
    return result


def first_issue_at(session: Session, municipality_id: int, year: int) -> datetime | None:
    """When the year's first issuing run wrote its passes (None before it):
    children registered after it are newcomers (``eligibility.entry``)."""
    return session.execute(
        select(func.min(ChildPass.created_at)).where(ChildPass.municipality_id == municipality_id, ChildPass.year == year)
    ).scalar()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def entry_of(scheme: Scheme, birth_date: date, registered_at: datetime | None, *, today: date,
             first_issue: datetime | None) -> Entry:
    newcomer = registered_at is not None and first_issue is not None and _utc(registered_at) > _utc(first_issue)
    return entry(
        birth_date, valid_from=scheme.valid_from, valid_until=scheme.valid_until, issue_day=today,
        newcomer_since=local_date(registered_at) if newcomer and registered_at is not None else None,
    )


def plan_run(
    session: Session, municipality: Municipality, scheme: Scheme, settings: Settings, fund_id: int, result: IssueResult,
    *, today: date,
) -> list[PlannedPass]:
    """A pass for every child of the municipality without one for the scheme's year that the scheme gives
    anything (the others counted in ``result.not_eligible``): what a run would write, nothing written."""
    has_pass = (
        select(ChildPass.id).where(ChildPass.child_id == Child.id, ChildPass.year == scheme.year).exists()
    )
    rows = session.execute(
        select(Child.id, Child.birth_date, Child.income_sealed, Child.override_reason, Child.created_at)
        .where(Child.municipality_id == municipality.id, ~has_pass)
        .order_by(Child.id)
    ).all()
    # Read once: a mapped attribute costs more than the rules that read it,
    # a hundred thousand children over.
    items = [ItemValues.of(item) for item in scheme.items]
    scheme_id, year, valid_from, valid_until = scheme.id, scheme.year, scheme.valid_from, scheme.valid_until
    income_limit, sliding_scale, mid_year = scheme.income_limit, scheme.sliding_scale, scheme.mid_year
    first_issue = first_issue_at(session, municipality.id, year)
    plans = []
    for child_id, birth_date, income_sealed, override_reason, registered_at in rows:
        income = None if override_reason else keys.open_income(settings, income_sealed)
        award = award_for(income, override_reason, income_limit=income_limit, sliding_scale=sliding_scale)
        came = entry_of(scheme, birth_date, registered_at, today=today, first_issue=first_issue)
        grants = grants_for(items, birth_date, came, award, mid_year=mid_year) if award else []
        if not grants:
            result.not_eligible += 1
            continue
        assert award is not None
        plans.append(
            PlannedPass(
                child_id=child_id, scheme_id=scheme_id, year=year, generation=1,
                valid_from=valid_from, valid_until=valid_until,
                award_basis=award.basis, award_share=award.share,
                vouchers=[
                    PlannedVoucher(
                        kind=g.kind, category=g.category, code=g.code, cents=g.cents,
                        strip_value_cents=g.strip_value_cents, valid_until=valid_until,
                        source_account=fund_id, transfer_kind=books.ISSUE,
                    )
                    for g in grants
                ],
            )
        )
    return plans


@dataclass(frozen=True)
class ItemValues(Item):
    """A scheme item's values (``eligibility.Item``), off the model."""

    kind: str
    category: str
    code: str | None
    amount_cents: int
    strips: int | None
    strip_value_cents: int | None
    age_min: int
    age_max: int

    @classmethod
    def of(cls, item: SchemeItem) -> ItemValues:
        return cls(
            item.kind, item.category, item.code, item.amount_cents, item.strips, item.strip_value_cents,
            item.age_min, item.age_max,
        )

"""A cooperation that pays the merchants itself: its payment runs.

Design overview
---------------
With ``payout = cooperation`` every member still settles its own money: its
finance users make and approve its batches (four eyes, per member), which
moves what it owes each merchant from the merchant's payable in its
partition to its clearing, as always. The member does not export or pay
those batches itself. Instead the lead's finance users make a **run**:

* **create** takes every approved batch of the active members not in a run
  yet (their rows locked), and for each moves the member's share into the
  cooperation by two labelled transfers in one transaction, one in each
  partition, recorded together (``CooperationRemittance``):
  ``remit_to_cooperation`` (member's clearing → its ``remitted`` account)
  and ``received_from_member`` (the member's ``cooperation_share`` account in
  the cooperation's partition → the cooperation's clearing). It adds the
  members' approved lines up per merchant (one payment per merchant and
  creditor account, ``CooperationPayment``) and builds the payment file in
  memory first: a run that could not be sent is never made.
* **export** writes the pain.001 file from the cooperation's account (with
  a CSV that allocates every payment to the members' batches) and marks the
  run and its batches exported; the values are fixed then, so every later
  export is the identical file.
* **paid** moves the run's total from the cooperation's clearing to its
  bank account and marks the run and its batches paid.

The batches keep their lines, statements and figures, per member. A batch
in a run takes no bank return (settled with the cooperation outside
pasdienst). ``ledger verify`` (``checks.py``) proves each remittance's two
transfers, each member's remitted total against its share in the
cooperation, the runs' payments against the members' lines, and the
cooperation's clearing and bank against its runs.

Lock order: the cooperation's run lock (advisory, PostgreSQL), then the
batch rows in id order (as approval and returns take one), then accounts.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import cast
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..clock import AMSTERDAM, now_utc
from ..csvsafe import csv_bytes
from ..db import hold_lock
from ..errors import NotFound
from ..municipalities.models import Municipality
from ..settlement.batches import follow_cooperation_run
from ..settlement.errors import NothingToSettle, WrongState
from ..settlement.models import APPROVED, EXPORTED, PAID, SettlementBatch
from ..settlement.payment_file import PaymentFile, build_payment_file
from ..settlement.queries import paying_lines
from ..settlement.sepa import DEFAULT_SCHEMA, Payment, PaymentOrder, SepaExportError, build_pain001
from ..settlement.statements import csv_euros
from .models import (
    ACTIVE,
    PAYOUT_COOPERATION,
    RUN_EXPORTED,
    RUN_PAID,
    RUN_REMITTED,
    Cooperation,
    CooperationMember,
    CooperationPayment,
    CooperationRemittance,
    CooperationRun,
)
from .services import get_cooperation


def lock_cooperation(session: Session, cooperation_id: int) -> None:
    """Hold the cooperation's run lock until the transaction ends (PostgreSQL;
    SQLite's writers take turns already)."""
    hold_lock(session, "cooperation", cooperation_id)


def _ensure_lead_finance(actor: Actor, cooperation: Cooperation, *, system: bool = False) -> None:
    ensure_role(actor, "finance", *(("system",) if system else ()))
    ensure_municipality(actor, cooperation.lead_municipality_id)


def message_id_for(run_id: int, created_at: datetime) -> str:
    """``KP-20270601-R3``: stable for a run (a batch's is ``…-B<id>``)."""
    return f"KP-{created_at.astimezone(AMSTERDAM):%Y%m%d}-R{run_id}"


def remittance_for(cooperation: Cooperation, run_id: int, period_from: date, period_until: date) -> str:
    """The text the merchant sees with the money; both dates inclusive."""
    return f"Kindpakket {cooperation.name} R{run_id} periode {period_from:%d-%m-%Y} t/m {period_until:%d-%m-%Y}"


@dataclass(frozen=True)
class _Share:
    """One approved line of a member's batch, as it goes into the run."""

    batch_id: int
    municipality_id: int
    merchant_id: int
    count: int
    total_cents: int
    name: str
    iban: str
    bic: str | None


def _shares(session: Session, batches: list[SettlementBatch]) -> list[_Share]:
    """The approved lines of ``batches`` that the bank did not return."""
    member = {batch.id: batch.municipality_id for batch in batches}
    shares = []
    for line in paying_lines(session, list(member)):
        assert line.creditor_iban is not None and line.creditor_name is not None
        shares.append(
            _Share(line.batch_id, member[line.batch_id], line.merchant_id, line.count, line.total_cents,
                   line.creditor_name, line.creditor_iban, line.creditor_bic)
        )
    return shares


def _payments(run_id: int, shares: list[_Share]) -> list[tuple[tuple, CooperationPayment]]:
    """One payment per merchant and creditor account (as approved on the
    members' lines), ``KP-R<run>-M<merchant>`` and ``-2``… for a merchant whose
    lines carried more than one account."""
    grouped: dict[tuple, list[_Share]] = defaultdict(list)
    for share in shares:
        grouped[(share.merchant_id, share.iban, share.bic, share.name)].append(share)
    seen: dict[int, int] = defaultdict(int)
    made = []
    for key in sorted(grouped, key=lambda k: (k[0], min(s.batch_id for s in grouped[k]))):
        merchant_id = key[0]
        seen[merchant_id] += 1
        suffix = f"-{seen[merchant_id]}" if seen[merchant_id] > 1 else ""
        lines = grouped[key]
        made.append((key, CooperationPayment(
            run_id=run_id, merchant_id=merchant_id, count=sum(s.count for s in lines),
            amount_cents=sum(s.total_cents for s in lines), end_to_end_id=f"KP-R{run_id}-M{merchant_id}{suffix}",
            creditor_name=key[3], creditor_iban=key[1], creditor_bic=key[2],
        )))
    return made


def _order(
    cooperation: Cooperation, run: CooperationRun, payments: list[CooperationPayment], *,
    execution_date: date, debtor: tuple[str, str | None, str | None],
) -> PaymentOrder:
    remittance = remittance_for(cooperation, run.id, run.period_from, run.period_until)
    return PaymentOrder(
        batch_id=run.id, message_id=run.message_id, created_at=run.created_at, execution_date=execution_date,
        debtor_name=debtor[0], debtor_iban=debtor[1], debtor_bic=debtor[2],
        payments=tuple(
            Payment(
                name=p.creditor_name, iban=p.creditor_iban, bic=p.creditor_bic, amount_cents=p.amount_cents,
                end_to_end_id=p.end_to_end_id, remittance=remittance,
            )
            for p in payments
        ),
    )


def create_run(
    session: Session, actor: Actor, cooperation_code: str, *, now: datetime | None = None, schema: str = DEFAULT_SCHEMA
) -> CooperationRun:
    """Take every approved batch of the members into a new run (a finance user of the lead).

    Raises ``WrongState`` when the members pay for themselves,
    ``NothingToSettle`` (nothing written) when no approved batch waits, and
    ``SepaExportError`` (nothing written) when the payment file could not
    be built: the cooperation has no IBAN, a name no bank can use.
    """
    cooperation = get_cooperation(session, cooperation_code)
    _ensure_lead_finance(actor, cooperation)
    if cooperation.payout != PAYOUT_COOPERATION:
        raise WrongState(
            f"cooperation {cooperation.code} pays by its members: each exports its own batches",
            refusal="cooperation_pays_by_members", cooperation=cooperation.name,
        )
    lock_cooperation(session, cooperation.id)
    now = now or now_utc()
    members = select(CooperationMember.municipality_id).where(
        CooperationMember.cooperation_id == cooperation.id, CooperationMember.status == ACTIVE
    )
    batches = list(
        session.execute(
            select(SettlementBatch)
            .where(
                SettlementBatch.municipality_id.in_(members),
                SettlementBatch.status == APPROVED,
                ~select(CooperationRemittance.batch_id).where(CooperationRemittance.batch_id == SettlementBatch.id).exists(),
            )
            .order_by(SettlementBatch.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )
    shares = _shares(session, batches)
    due: dict[int, int] = defaultdict(int)
    for share in shares:
        due[share.batch_id] += share.total_cents
    batches = [b for b in batches if due[b.id] > 0]  # every line returned: nothing of it to pay
    if not batches:
        raise NothingToSettle(
            f"no approved batch of the members of {cooperation.code} waits to be paid",
            refusal="cooperation_nothing_to_pay", cooperation=cooperation.name,
        )
    run = CooperationRun(
        cooperation_id=cooperation.id, status=RUN_REMITTED, count=sum(s.count for s in shares),
        total_cents=sum(due.values()), period_from=min(b.period_from for b in batches if b.period_from),
        period_until=max(b.period_until for b in batches if b.period_until), message_id="-",
        created_by_user_id=actor.user_id, created_at=now,
    )
    session.add(run)
    session.flush()
    run.message_id = message_id_for(run.id, now)
    payments = [payment for _, payment in _payments(run.id, shares)]
    try:
        build_pain001(
            _order(cooperation, run, payments, execution_date=now.astimezone(AMSTERDAM).date(),
                   debtor=(cooperation.name, cooperation.iban, cooperation.bic)),
            schema=schema,
        )
    except SepaExportError as exc:
        problems = cast("list[str]", exc.details.get("errors") or [exc.message])
        raise SepaExportError(
            f"cannot make a payment run for {cooperation.code}: its payment file could not be built: "
            + "; ".join(problems) + f" (e.g. pasdienst cooperation set-payout {cooperation.code} cooperation --iban IBAN)",
            errors=problems,
        ) from None
    codes = dict(session.execute(select(Municipality.id, Municipality.code)).all())
    coop_ledger = books.cooperation_ledger(cooperation.code)
    coop_clearing = ledger.get_account(session, books.clearing_key(coop_ledger)).id
    transfers: list[ledger.NewTransfer] = []
    for batch in batches:
        code = codes[batch.municipality_id]
        clearing = ledger.get_account(session, books.clearing_key(code)).id
        remitted = ledger.open_account(
            session, key=books.remitted_key(code, cooperation.code), kind=books.REMITTED, ledger=code,
        )
        share_account = ledger.open_account(
            session, key=books.share_key(cooperation.code, code), kind=books.COOPERATION_SHARE, ledger=coop_ledger,
            non_negative=False,
        )
        reference = f"B{batch.id} {code} -> {cooperation.code} R{run.id}"
        transfers.append(ledger.NewTransfer.move(
            books.REMIT, clearing, remitted, due[batch.id], reference=reference, idempotency_key=f"remit:{batch.id}",
        ))
        transfers.append(ledger.NewTransfer.move(
            books.RECEIVE, share_account, coop_clearing, due[batch.id], reference=reference,
            idempotency_key=f"receive:{batch.id}",
        ))
    posted = ledger.post_many(session, transfers, now=now)
    for batch, member_leg, coop_leg in zip(batches, posted[0::2], posted[1::2]):
        session.add(CooperationRemittance(
            batch_id=batch.id, run_id=run.id, municipality_id=batch.municipality_id, amount_cents=due[batch.id],
            member_transfer_id=member_leg.id, cooperation_transfer_id=coop_leg.id,
        ))
    session.add_all(payments)
    session.flush()
    for batch in batches:
        record_audit(
            session, actor, "settlement.remit", "settlement_batch", batch.id,
            after={"cooperation": cooperation.code, "run": run.id, "amount_cents": due[batch.id]},
            municipality_id=batch.municipality_id,
        )
    record_audit(
        session, actor, "cooperation.run", "cooperation_run", run.id,
        after={
            "cooperation": cooperation.code, "count": run.count, "total_cents": run.total_cents,
            "batches": [f"B{b.id} {codes[b.municipality_id]}" for b in batches],
        },
        municipality_id=cooperation.lead_municipality_id,
    )
    return run


def _run(session: Session, actor: Actor, run_id: int, *, lock: bool = False, system: bool = False) -> tuple[CooperationRun, Cooperation]:
    query = select(CooperationRun).where(CooperationRun.id == run_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    run = session.execute(query).scalar_one_or_none() if isinstance(run_id, int) else None
    cooperation = session.get(Cooperation, run.cooperation_id) if run is not None else None
    if run is None or cooperation is None:
        raise NotFound(f"no cooperation payment run {run_id!r}")
    ensure_role(actor, "finance", *(("system",) if system else ()))
    if actor.role != "system" and actor.municipality_id != cooperation.lead_municipality_id:
        raise NotFound(f"no cooperation payment run {run_id!r}")
    return run, cooperation


def _batch_ids(session: Session, run_id: int) -> list[int]:
    return list(
        session.execute(
            select(CooperationRemittance.batch_id).where(CooperationRemittance.run_id == run_id)
            .order_by(CooperationRemittance.batch_id)
        ).scalars()
    )


#: The allocation CSV: every payment of the file, split over the members' batches that owe it.
ALLOCATION_HEADER = (
    "end_to_end_id", "merchant_id", "merchant_name", "iban", "payment_eur", "municipality", "batch_id", "count",
    "amount_eur",
)


def build_run_export(
    session: Session, actor: Actor, run_id: int, *, schema: str = DEFAULT_SCHEMA, today: date
) -> PaymentFile:
    """The run's payment file (from the cooperation's account) and its
    allocation CSV. A run exported before is built again from the values
    stored at its first export, byte for byte the same."""
    run, cooperation = _run(session, actor, run_id, system=True)
    if run.exported_at is not None:
        assert run.execution_date is not None and run.sepa_schema is not None
        execution_date, schema = run.execution_date, run.sepa_schema
        debtor = (run.debtor_name or "", run.debtor_iban, run.debtor_bic)
    else:
        execution_date = max(today, run.created_at.astimezone(AMSTERDAM).date())
        debtor = (cooperation.name, cooperation.iban, cooperation.bic)
    payments = _payments_of(session, run.id)
    return build_payment_file(
        _order(cooperation, run, payments, execution_date=execution_date, debtor=debtor),
        _allocation_csv(session, run.id, payments), schema=schema, total_cents=run.total_cents,
    )


def allocation(session: Session, run_id: int) -> list[tuple[int, str, int, int, int, tuple]]:
    """Every line the run pays: (merchant id, member code, batch id, count,
    cents, (creditor IBAN, BIC, name)), in merchant and batch order."""
    member: dict[int, str] = {
        batch_id: code
        for batch_id, code in session.execute(
            select(CooperationRemittance.batch_id, Municipality.code)
            .join(Municipality, Municipality.id == CooperationRemittance.municipality_id)
            .where(CooperationRemittance.run_id == run_id)
        )
    }
    lines = sorted(paying_lines(session, list(member)), key=lambda line: (line.merchant_id, line.batch_id))
    return [
        (line.merchant_id, member[line.batch_id], line.batch_id, line.count, line.total_cents,
         (line.creditor_iban, line.creditor_bic, line.creditor_name))
        for line in lines
    ]


@dataclass(frozen=True)
class Allocated:
    """One member's batch's part of one payment of a run."""

    end_to_end_id: str
    merchant_id: int
    merchant_name: str
    iban: str
    payment_cents: int
    member: str
    batch_id: int
    count: int
    cents: int


def _allocated(session: Session, run_id: int, payments: list[CooperationPayment]) -> list[Allocated]:
    by_account = {(p.merchant_id, p.creditor_iban, p.creditor_bic, p.creditor_name): p for p in payments}
    rows = []
    for merchant_id, code, batch_id, count, cents, account in allocation(session, run_id):
        payment = by_account[(merchant_id, *account)]
        rows.append(Allocated(
            payment.end_to_end_id, merchant_id, payment.creditor_name, payment.creditor_iban, payment.amount_cents,
            code, batch_id, count, cents,
        ))
    rows.sort(key=lambda r: (r.end_to_end_id, r.batch_id))
    return rows


def _allocation_csv(session: Session, run_id: int, payments: list[CooperationPayment]) -> bytes:
    return csv_bytes(ALLOCATION_HEADER, [
        (a.end_to_end_id, a.merchant_id, a.merchant_name, a.iban, csv_euros(a.payment_cents), a.member, a.batch_id,
         a.count, csv_euros(a.cents))
        for a in _allocated(session, run_id, payments)
    ])


def _payments_of(session: Session, run_id: int) -> list[CooperationPayment]:
    return list(
        session.execute(
            select(CooperationPayment).where(CooperationPayment.run_id == run_id).order_by(CooperationPayment.id)
        ).scalars()
    )


def run_allocation(session: Session, actor: Actor, run_id: int) -> list[Allocated]:
    """Every payment of the run split over the members' batches that owe it (its readers)."""
    run, _ = _readable_run(session, actor, run_id)
    return _allocated(session, run.id, _payments_of(session, run.id))


def allocation_csv_of(session: Session, actor: Actor, run_id: int) -> bytes:
    """The allocation CSV of the export, for every reader of the run (the payment file is the lead's)."""
    run, _ = _readable_run(session, actor, run_id)
    return _allocation_csv(session, run.id, _payments_of(session, run.id))


@dataclass(frozen=True)
class RunStep:
    run: CooperationRun
    #: False when the run was already past this step (a harmless re-run).
    changed: bool


def record_run_export(session: Session, actor: Actor, export: PaymentFile, *, now: datetime | None = None) -> RunStep:
    """Mark the run and its batches exported after its files were written (first export only)."""
    run, cooperation = _run(session, actor, export.id, lock=True, system=True)
    if run.status != RUN_REMITTED:
        return RunStep(run, False)
    now = now or now_utc()
    run.exported_at, run.execution_date, run.sepa_schema = now, export.execution_date, export.schema
    run.debtor_name, run.debtor_iban, run.debtor_bic = export.debtor_name, export.debtor_iban, export.debtor_bic
    run.status = RUN_EXPORTED
    session.flush()
    follow_cooperation_run(
        session, actor, _batch_ids(session, run.id), EXPORTED, now=now, cooperation=cooperation.code, run_id=run.id,
        execution_date=export.execution_date, schema=export.schema,
        debtor=(export.debtor_name, export.debtor_iban, export.debtor_bic), message_id=run.message_id,
    )
    record_audit(
        session, actor if actor.role != "system" else None, "cooperation.run_exported", "cooperation_run", run.id,
        before={"status": RUN_REMITTED},
        after={"status": RUN_EXPORTED, "message_id": run.message_id, "execution_date": export.execution_date},
        municipality_id=cooperation.lead_municipality_id,
    )
    return RunStep(run, True)


def mark_run_paid(session: Session, actor: Actor, run_id: int, *, now: datetime | None = None) -> RunStep:
    """The bank executed the run's file: its total leaves the cooperation's
    clearing for its bank account, and its batches are paid."""
    run, cooperation = _run(session, actor, run_id, lock=True)
    if run.status == RUN_PAID:
        return RunStep(run, False)
    if run.status != RUN_EXPORTED:
        raise WrongState(
            f"run {run.id} is {run.status}; export its payment file first",
            refusal="cooperation_run_not_exported", run=run.id,
        )
    now = now or now_utc()
    coop_ledger = books.cooperation_ledger(cooperation.code)
    posted = ledger.transfer(
        session, kind=books.PAYOUT,
        source=ledger.get_account(session, books.clearing_key(coop_ledger)).id,
        destination=ledger.get_account(session, books.bank_key(coop_ledger)).id,
        amount=run.total_cents, reference=f"{cooperation.code} R{run.id}", idempotency_key=f"cooperation-payout:{run.id}",
        now=now,
    )
    run.payout_transfer_id, run.paid_by_user_id, run.paid_at, run.status = posted.id, actor.user_id, now, RUN_PAID
    session.flush()
    follow_cooperation_run(
        session, actor, _batch_ids(session, run.id), PAID, now=now, cooperation=cooperation.code, run_id=run.id,
    )
    record_audit(
        session, actor, "cooperation.run_paid", "cooperation_run", run.id,
        before={"status": RUN_EXPORTED}, after={"status": RUN_PAID, "total_cents": run.total_cents},
        municipality_id=cooperation.lead_municipality_id,
    )
    return RunStep(run, True)


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberShare:
    code: str
    name: str
    batch_id: int
    count: int
    amount_cents: int


@dataclass(frozen=True)
class RunView:
    id: int
    cooperation: str
    status: str
    count: int
    total_cents: int
    period_from: date
    period_until: date
    created_at: datetime
    exported_at: datetime | None
    paid_at: datetime | None
    members: tuple[MemberShare, ...]
    #: (end-to-end id, merchant name, IBAN, cents)
    payments: tuple[tuple[str, str, str, int], ...]


def _readable_run(session: Session, actor: Actor, run_id: int) -> tuple[CooperationRun, Cooperation]:
    """A run its readers may see: the lead's finance staff (and the system),
    and the finance staff of a member whose batch it paid; for anyone else
    it does not exist."""
    ensure_role(actor, "finance", "system")
    run = session.get(CooperationRun, run_id) if isinstance(run_id, int) else None
    cooperation = session.get(Cooperation, run.cooperation_id) if run is not None else None
    if run is None or cooperation is None:
        raise NotFound(f"no cooperation payment run {run_id!r}")
    if actor.role != "system" and actor.municipality_id != cooperation.lead_municipality_id:
        remitted = session.scalar(
            select(CooperationRemittance.batch_id).where(
                CooperationRemittance.run_id == run.id, CooperationRemittance.municipality_id == actor.municipality_id
            ).limit(1)
        )
        if remitted is None:
            raise NotFound(f"no cooperation payment run {run_id!r}")
    return run, cooperation


def run_view(session: Session, actor: Actor, run_id: int) -> RunView:
    """The run with each member's share and each payment (its readers: see ``_readable_run``)."""
    run, cooperation = _readable_run(session, actor, run_id)
    members = session.execute(
        select(Municipality.code, Municipality.name, CooperationRemittance.batch_id, SettlementBatch.count,
               CooperationRemittance.amount_cents)
        .join(CooperationRemittance, CooperationRemittance.municipality_id == Municipality.id)
        .join(SettlementBatch, SettlementBatch.id == CooperationRemittance.batch_id)
        .where(CooperationRemittance.run_id == run.id)
        .order_by(Municipality.name, CooperationRemittance.batch_id)
    ).all()
    payments = session.execute(
        select(CooperationPayment.end_to_end_id, CooperationPayment.creditor_name, CooperationPayment.creditor_iban,
               CooperationPayment.amount_cents)
        .where(CooperationPayment.run_id == run.id)
        .order_by(CooperationPayment.creditor_name, CooperationPayment.id)
    ).all()
    return RunView(
        run.id, cooperation.code, run.status, run.count, run.total_cents, run.period_from, run.period_until,
        run.created_at, run.exported_at, run.paid_at,
        tuple(MemberShare(*row) for row in members), tuple(cast("tuple[str, str, str, int]", tuple(row)) for row in payments),
    )


def list_runs(session: Session, actor: Actor, cooperation_code: str) -> list[CooperationRun]:
    cooperation = get_cooperation(session, cooperation_code)
    _ensure_lead_finance(actor, cooperation, system=True)
    return list(
        session.execute(
            select(CooperationRun).where(CooperationRun.cooperation_id == cooperation.id).order_by(CooperationRun.id.desc())
        ).scalars()
    )


def waiting_batches(session: Session, actor: Actor, cooperation_code: str) -> list[tuple[str, SettlementBatch]]:
    """The members' approved batches a run made now would take: (member code, batch)."""
    cooperation = get_cooperation(session, cooperation_code)
    _ensure_lead_finance(actor, cooperation, system=True)
    rows = session.execute(
        select(Municipality.code, SettlementBatch)
        .join(SettlementBatch, SettlementBatch.municipality_id == Municipality.id)
        .join(CooperationMember, CooperationMember.municipality_id == Municipality.id)
        .where(
            CooperationMember.cooperation_id == cooperation.id, CooperationMember.status == ACTIVE,
            SettlementBatch.status == APPROVED,
            ~select(CooperationRemittance.batch_id).where(CooperationRemittance.batch_id == SettlementBatch.id).exists(),
        )
        .order_by(SettlementBatch.id)
    ).all()
    return [(code, batch) for code, batch in rows]


"""What leaves pasdienst for a batch: the SEPA payment file, the lines CSV,
and each merchant's statement.

``build_export`` makes the payment file and the lines CSV of an approved
batch (validated against the XSD before a byte is written); the values in
the file are fixed at the first export (``record_export``: execution date,
schema version, debtor), so every later export is the identical file. The
statements list each merchant's redemptions and corrections of the batch;
``statements`` renders them from plain values.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.policy import Actor
from ..clock import now_utc
from ..csvsafe import write_atomically
from ..errors import NotFound
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..wallet.models import Voucher
from .batches import READERS, StepResult, batch_for, local_date, record_transition, refuse_if_cooperation_pays, returned_lines
from .errors import WrongState
from .models import (
    APPROVED,
    DRAFT,
    EXPORTED,
    PAID,
    SETTLED_STATUSES,
    SettlementBatch,
    SettlementCorrection,
    SettlementItem,
    SettlementLine,
    SettlementReturn,
    SettlementReturnedItem,
    SettlementReturnedLine,
)
from .queries import batch_lines
from .payment_file import PaymentFile, build_payment_file
from .sepa import DEFAULT_SCHEMA, Payment, PaymentOrder, SepaExportError, remittance_for
from .statements import BatchLine, StatementLine, lines_csv, render_statement


# -- export ---------------------------------------------------------------------------

def build_export(
    session: Session, actor: Actor, batch_id: int, *, schema: str = DEFAULT_SCHEMA, today: date
) -> PaymentFile:
    """The payment file and the lines CSV of an approved (or later) batch.

    A batch exported before is built again from the values stored at its
    first export (execution date, schema, debtor), byte for byte the same.
    """
    batch = batch_for(session, actor, batch_id, roles=("finance", "system"))
    if batch.status not in SETTLED_STATUSES:
        raise WrongState(
            f"batch {batch.id} is {batch.status}; "
            + ("approve it first (four eyes)" if batch.status == DRAFT else "a cancelled batch is never paid"),
            batch=batch.id,
        )
    refuse_if_cooperation_pays(session, batch, "export")
    municipality = session.get(Municipality, batch.municipality_id)
    assert municipality is not None and batch.approved_at is not None and batch.message_id is not None
    if batch.exported_at is not None:
        assert batch.execution_date is not None and batch.sepa_schema is not None
        execution_date, schema = batch.execution_date, batch.sepa_schema
        debtor = (batch.debtor_name or "", batch.debtor_iban or "", batch.debtor_bic)
    else:
        if not municipality.iban:
            raise SepaExportError(
                f"municipality {municipality.code} has no IBAN to pay from; set one with: "
                f"pasdienst municipality set-iban {municipality.code} --iban IBAN",
                refusal="export_municipality_iban_missing",
            )
        execution_date = max(today, local_date(batch.approved_at))
        debtor = (municipality.name, municipality.iban, municipality.bic)
    assert batch.period_from is not None and batch.period_until is not None
    period = (batch.period_from, batch.period_until)
    unsent = {m for m, r in returned_lines(session, batch.id).items() if r.batch_status == APPROVED}
    lines = [
        line
        for line in session.execute(
            select(SettlementLine).where(SettlementLine.batch_id == batch.id).order_by(SettlementLine.merchant_id)
        ).scalars()
        # Returned before any file was made: never sent, so never in a file.
        # (A line returned after the export stays: the file is what was sent.)
        if line.merchant_id not in unsent
    ]
    if not lines:
        raise WrongState(f"every payment of batch {batch.id} was returned before it was exported; there is no file to make",
                         refusal="batch_all_returned_before_export", batch=batch.id)
    remittance = remittance_for(batch.id, *period)
    order = PaymentOrder(
        batch_id=batch.id,
        message_id=batch.message_id,
        created_at=batch.approved_at,
        execution_date=execution_date,
        debtor_name=debtor[0],
        debtor_iban=debtor[1],
        debtor_bic=debtor[2],
        payments=tuple(
            Payment(
                name=line.creditor_name or "", iban=line.creditor_iban or "", bic=line.creditor_bic,
                amount_cents=line.total_cents, end_to_end_id=line.end_to_end_id or "", remittance=remittance,
            )
            for line in lines
        ),
    )
    csv = lines_csv(
        (
            BatchLine(line.merchant_id, line.creditor_name or "", line.creditor_iban or "", line.count, line.total_cents, line.end_to_end_id or "")
            for line in lines
        ),
        period_from=period[0],
        period_until=period[1],
    )
    try:
        return build_payment_file(order, csv, schema=schema, total_cents=sum(line.total_cents for line in lines))
    except SepaExportError as exc:
        raise SepaExportError(exc.message, refusal="batch_export_sepa", batch=batch.id, errors=exc.details.get("errors"),
                              reasons=exc.details.get("reasons") or [("sepa.other", {})]) from None


def record_export(session: Session, actor: Actor, export: PaymentFile, *, now: datetime | None = None) -> StepResult:
    """Mark the batch exported after its files were written (first export only)."""
    batch = batch_for(session, actor, export.id, lock=True, roles=("finance", "system"))
    if batch.status in (EXPORTED, PAID):
        return StepResult(batch, False)
    refuse_if_cooperation_pays(session, batch, "export")
    if batch.status != APPROVED:
        raise WrongState(f"batch {batch.id} is {batch.status}; it cannot be exported", batch=batch.id)
    now = now or now_utc()
    batch.exported_at = now
    batch.execution_date = export.execution_date
    batch.sepa_schema = export.schema
    batch.debtor_name, batch.debtor_iban, batch.debtor_bic = export.debtor_name, export.debtor_iban, export.debtor_bic
    record_transition(session, batch, actor, EXPORTED, now, message_id=batch.message_id, execution_date=export.execution_date)
    return StepResult(batch, True)


# -- statements ---------------------------------------------------------------------

def statement_lines(session: Session, batch_id: int, merchant_id: int) -> list[StatementLine]:
    """One merchant's redemptions in a batch (date order), then its corrections as negative lines.

    For a line the bank returned: the redemptions it held (they were
    released for the next batch, as were its corrections).
    """
    returned = returned_lines(session, batch_id).get(merchant_id)
    query = (
        select(Redemption.created_at, Redemption.receipt_no, Voucher.kind, Voucher.category, Redemption.amount_cents)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .order_by(Redemption.created_at, Redemption.id)
    )
    if returned is not None:
        query = query.join(SettlementReturnedItem, SettlementReturnedItem.redemption_id == Redemption.id).where(
            SettlementReturnedItem.line_id == returned.line_id
        )
    else:
        query = query.join(SettlementItem, SettlementItem.redemption_id == Redemption.id).where(
            SettlementItem.batch_id == batch_id, Redemption.merchant_id == merchant_id
        )
    rows = session.execute(query).all()
    lines = [StatementLine(at, receipt, kind, category, amount) for at, receipt, kind, category, amount in rows]
    return lines + _correction_lines(session, batch_id).get(merchant_id, [])


def _correction_lines(session: Session, batch_id: int) -> dict[int, list[StatementLine]]:
    found: dict[int, list[StatementLine]] = defaultdict(list)
    rows = session.execute(
        select(SettlementCorrection.merchant_id, SettlementCorrection.created_at, Redemption.receipt_no, Voucher.category, SettlementCorrection.amount_cents)
        .join(Redemption, Redemption.id == SettlementCorrection.redemption_id)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .where(SettlementCorrection.settlement_batch_id == batch_id)
        .order_by(SettlementCorrection.created_at, SettlementCorrection.id)
    )
    for merchant_id, at, receipt, category, amount in rows:
        found[merchant_id].append(StatementLine(at, receipt, "correction", category, -amount))
    return found


@dataclass(frozen=True)
class Statement:
    merchant_id: int
    merchant_name: str
    html: str


def statement_for(session: Session, actor: Actor, batch_id: int, merchant_id: int, *, stylesheet_url: str | None) -> Statement:
    """One merchant's printable statement of a batch (finance of the municipality, or that merchant)."""
    if actor.role == "merchant":
        if actor.merchant_id != merchant_id:
            raise NotFound(f"no statement for merchant {merchant_id} in batch {batch_id}")
        batch = session.get(SettlementBatch, batch_id) if isinstance(batch_id, int) else None
        if batch is None or batch.status not in SETTLED_STATUSES:
            raise NotFound(f"no settlement batch {batch_id!r}", refusal="batch_not_found")
    else:
        batch = batch_for(session, actor, batch_id, roles=READERS)
    line = session.execute(
        select(SettlementLine).where(SettlementLine.batch_id == batch.id, SettlementLine.merchant_id == merchant_id)
    ).scalar_one_or_none()
    if line is None:
        raise NotFound(f"merchant {merchant_id} is not in batch {batch.id}")
    return Statement(merchant_id, *_render(session, batch, line, statement_lines(session, batch.id, merchant_id), stylesheet_url))


def _render(session: Session, batch: SettlementBatch, line: SettlementLine, rows: list[StatementLine], stylesheet_url: str | None) -> tuple[str, str]:
    municipality = session.get(Municipality, batch.municipality_id)
    merchant = session.get(Merchant, line.merchant_id)
    assert municipality is not None and merchant is not None
    name = line.creditor_name or merchant.name
    html = render_statement(
        municipality_name=municipality.name,
        merchant_name=name,
        merchant_iban=line.creditor_iban or merchant.iban,
        batch_id=batch.id,
        period_from=batch.period_from or batch.until,
        period_until=batch.period_until or batch.until,
        lines=rows,
        paid_at=batch.paid_at,
        end_to_end_id=line.end_to_end_id,
        stylesheet_url=stylesheet_url,
        returned=_returned_note(session, batch.id, line.merchant_id),
    )
    return name, html


def _returned_note(session: Session, batch_id: int, merchant_id: int) -> tuple[datetime, str] | None:
    found = session.execute(
        select(SettlementReturnedLine.returned_at, SettlementReturn.reason)
        .join(SettlementReturn, SettlementReturn.id == SettlementReturnedLine.return_id)
        .where(SettlementReturnedLine.batch_id == batch_id, SettlementReturnedLine.merchant_id == merchant_id)
    ).first()
    return (found[0], found[1]) if found else None


def write_statements(session: Session, actor: Actor, batch_id: int, directory: Path) -> list[Path]:
    """Every merchant's statement of the batch as a printable HTML file (CSS embedded).

    Streams the redemptions merchant by merchant: memory stays flat however
    large the batch.
    """
    batch = batch_for(session, actor, batch_id, roles=("finance", "system"))
    directory.mkdir(parents=True, exist_ok=True)
    lines = {
        line.merchant_id: line
        for line in session.execute(select(SettlementLine).where(SettlementLine.batch_id == batch.id)).scalars()
    }
    corrections = _correction_lines(session, batch.id)
    written: list[Path] = []
    for merchant_id, rows in _redemptions_by_merchant(session, batch.id):
        line = lines[merchant_id]
        _, html = _render(session, batch, line, rows + corrections.get(merchant_id, []), None)
        path = directory / f"afrekening-B{batch.id}-M{merchant_id}.html"
        write_atomically(path, html.encode("utf-8"))
        written.append(path)
    return written


def _redemptions_by_merchant(session: Session, batch_id: int) -> Iterator[tuple[int, list[StatementLine]]]:
    result = session.execute(
        select(Redemption.merchant_id, Redemption.created_at, Redemption.receipt_no, Voucher.kind, Voucher.category, Redemption.amount_cents)
        .select_from(SettlementItem)
        .join(Redemption, Redemption.id == SettlementItem.redemption_id)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .where(SettlementItem.batch_id == batch_id)
        .order_by(Redemption.merchant_id, Redemption.created_at, Redemption.id)
        .execution_options(yield_per=5000)
    )
    current: int | None = None
    rows: list[StatementLine] = []
    for merchant_id, at, receipt, kind, category, amount in result:
        if merchant_id != current:
            if current is not None:
                yield current, rows
            current, rows = merchant_id, []
        rows.append(StatementLine(at, receipt, kind, category, amount))
    if current is not None:
        yield current, rows




def lines_csv_of(session: Session, actor: Actor, batch_id: int) -> bytes:
    """The batch lines as CSV: as approved, or for a draft as they would be paid now."""
    batch = batch_for(session, actor, batch_id, roles=READERS)
    views = sorted(batch_lines(session, actor, batch_id), key=lambda line: line.merchant_id)
    return lines_csv(
        (BatchLine(v.merchant_id, v.merchant_name, v.iban, v.count, v.total_cents, v.end_to_end_id) for v in views),
        period_from=batch.period_from or batch.until,
        period_until=batch.period_until or batch.until,
    )

"""A settlement batch and its steps: create, four-eyes approval, cancel, paid.

The steps' files are made in ``export``, corrections in ``corrections``, the
pages' and the command line's reading in ``queries``; all of them find a
batch and record its transitions through this module.

Design overview
---------------
A batch moves ``draft → approved → exported → paid`` (or ``draft →
cancelled``), each step one transaction that writes the state, a
``SettlementTransition`` row and an audit event together, so a process
killed halfway leaves the step either done or not started, and running the
command again finishes it:

* **create** claims, in one set-based ``INSERT … SELECT``, every redemption
  of the municipality made before the cut-off that is not voided and not in
  a batch yet (``settlement_item``, whose primary key is the redemption id:
  the database refuses a second claim), claims the corrections made before
  the cut-off likewise, and adds up one line per merchant from exactly the
  rows it claimed. A merchant whose corrections outweigh its redemptions
  gets no line this time; its items are released for a later batch, so it is
  never sent a payment of zero or less. Nothing claimed: nothing is written.
* **approve** (a finance user other than the creator) checks each
  merchant's IBAN, copies name, IBAN and BIC onto its line, and moves each
  line's total from the merchant's payable to settlement clearing: one
  ``settle`` transfer per merchant, with idempotency keys.
* **export** builds the pain.001 file from the approved lines (it is
  validated against the XSD before a byte is written) and marks the batch
  exported the first time; the values in the file are fixed then (execution
  date, schema version, debtor), so every later export is the identical file.
* **paid** moves the batch total from clearing to the bank account.
* **correct** takes back a redemption of an approved batch: the ledger
  transfer is reversed and the next batch nets it off that merchant's line.
  Payables stay non-negative: the ledger derives them from postings (no
  shared row per redemption) and cannot guard them, so approval checks under
  the settlement lock that no line pays more than its merchant is owed, and a
  correction needs at least as much waiting to be settled; otherwise it is
  refused. Credits from new redemptions can only add to a payable meanwhile;
  voids and corrections wait for the lock.

Only finance users of the municipality act here; the command line passes
the user of ``--by``. Locks: creating, cancelling, approving and correcting
take the municipality's settlement lock (``claims.lock_municipality``), a
void takes it shared.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from datetime import date, datetime
from typing import cast

from sqlalchemy import BigInteger, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from .. import books, faults, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role, same_hands
from ..banking import InvalidIBAN, normalise_iban
from ..db import rowcount
from ..clock import AMSTERDAM, day_bounds_utc, now_utc
from ..cooperations.models import Cooperation, CooperationRemittance, CooperationRun
from ..cooperations.services import paying_cooperation
from ..errors import NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from .claims import lock_municipality
from .errors import FourEyes, NothingToSettle, WrongState
from .models import (
    APPROVED,
    CANCELLED,
    DRAFT,
    EXPORTED,
    PAID,
    SETTLED_STATUSES,
    SettlementBatch,
    SettlementCorrection,
    SettlementItem,
    SettlementLine,
    SettlementReturnedLine,
    SettlementTransition,
)
from .sepa import (
    DEFAULT_SCHEMA,
    Payment,
    PaymentOrder,
    SepaExportError,
    build_pain001,
    end_to_end_id_for,
    message_id_for,
    remittance_for,
)

_items = SettlementItem.__table__
_redemptions = Redemption.__table__
_corrections = SettlementCorrection.__table__
_lines = SettlementLine.__table__



# -- who may ----------------------------------------------------------------------

#: Who may read a batch, its lines and statements: finance, and the municipality's
#: admins (the audit log links to the batch). Only finance acts on one.
READERS: tuple[str, ...] = ("finance", "admin", "system")

def ensure_finance(actor: Actor, municipality_id: int) -> None:
    ensure_role(actor, "finance")
    ensure_municipality(actor, municipality_id)


def batch_for(session: Session, actor: Actor, batch_id: int, *, lock: bool = False, roles: tuple[str, ...] = ("finance",)) -> SettlementBatch:
    """The batch, if ``actor`` may see it; another municipality's batch is "not found"."""
    ensure_role(actor, *roles)
    query = select(SettlementBatch).where(SettlementBatch.id == batch_id)
    if lock:
        # PostgreSQL: a second approval or payment of the same batch waits
        # here and then sees the first one's result. (SQLite: BEGIN IMMEDIATE.)
        query = query.with_for_update().execution_options(populate_existing=True)
    batch = session.execute(query).scalar_one_or_none() if isinstance(batch_id, int) else None
    if batch is None or (actor.role != "system" and batch.municipality_id != actor.municipality_id):
        raise NotFound(f"no settlement batch {batch_id!r}", refusal="batch_not_found")
    return batch


def record_transition(session: Session, batch: SettlementBatch, actor: Actor, to_status: str, at: datetime, **audit: object) -> None:
    from_status = None if to_status == DRAFT else batch.status
    session.add(
        SettlementTransition(
            batch_id=batch.id, from_status=from_status, to_status=to_status,
            user_id=actor.user_id, by_email=actor.email, at=at,
        )
    )
    batch.status = to_status
    session.flush()
    record_audit(
        session, actor if actor.role != "system" else None, f"settlement.{to_status}", "settlement_batch", batch.id,
        before={"status": from_status} if from_status else None,
        after={"status": to_status, "count": batch.count, "total_cents": batch.total_cents, **audit},
        municipality_id=batch.municipality_id,
    )


def local_date(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()


# -- a cooperation that pays (pasdienst/cooperations/runs.py) -------------------------------

def cooperation_run_of(session: Session, batch_id: int) -> tuple[str, int] | None:
    """(cooperation code, run id) of the cooperation payment run that took this batch, if any."""
    found = session.execute(
        select(Cooperation.code, CooperationRemittance.run_id)
        .join(CooperationRun, CooperationRun.cooperation_id == Cooperation.id)
        .join(CooperationRemittance, CooperationRemittance.run_id == CooperationRun.id)
        .where(CooperationRemittance.batch_id == batch_id)
    ).first()
    return (found[0], int(found[1])) if found is not None else None


@dataclass(frozen=True)
class CooperationPayer:
    """Who pays a batch when its municipality's cooperation does: for the batch page."""

    name: str
    #: The payment run that took it; None while it waits for one.
    run_id: int | None


def cooperation_payer(session: Session, batch: SettlementBatch) -> CooperationPayer | None:
    """The cooperation that pays (or paid) ``batch``, with its run; None when the municipality pays it itself."""
    in_run = cooperation_run_of(session, batch.id)
    if in_run is not None:
        name = session.execute(select(Cooperation.name).where(Cooperation.code == in_run[0])).scalar_one()
        return CooperationPayer(name, in_run[1])
    cooperation = paying_cooperation(session, batch.municipality_id)
    if cooperation is not None and batch.status in (DRAFT, APPROVED):
        return CooperationPayer(cooperation.name, None)
    return None


def refuse_if_cooperation_pays(session: Session, batch: SettlementBatch, step: str) -> None:
    """Refuse ``step`` (export, paid) for a batch its cooperation pays: one in
    a cooperation's payment run, or of a member whose cooperation pays."""
    in_run = cooperation_run_of(session, batch.id)
    if in_run is not None:
        raise WrongState(
            f"batch {batch.id} is paid by cooperation {in_run[0]} in its payment run R{in_run[1]}: "
            f"its lead's finance users {step} the run (pasdienst cooperation {step} {in_run[1]})",
            refusal="batch_in_cooperation_run", batch=batch.id, run=in_run[1],
        )
    cooperation = paying_cooperation(session, batch.municipality_id)
    if cooperation is not None and batch.status == APPROVED:
        raise WrongState(
            f"batch {batch.id} is paid by cooperation {cooperation.code}: its lead's finance users take it "
            f"into a payment run (pasdienst cooperation settle {cooperation.code})",
            refusal="batch_paid_by_cooperation", batch=batch.id, cooperation=cooperation.name,
        )


def follow_cooperation_run(
    session: Session, actor: Actor, batch_ids: list[int], to_status: str, *, now: datetime, cooperation: str,
    run_id: int, execution_date: date | None = None, schema: str | None = None,
    debtor: tuple[str, str, str | None] | None = None, message_id: str | None = None,
) -> None:
    """The batches of a cooperation's payment run follow it: exported with its
    file (whose values they keep), paid when it is paid (the money left the
    cooperation's clearing, not the member's: no payout transfer of their own)."""
    batches = session.execute(
        select(SettlementBatch).where(SettlementBatch.id.in_(batch_ids)).order_by(SettlementBatch.id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalars().all()
    for batch in batches:
        if to_status == EXPORTED:
            assert batch.status == APPROVED and execution_date is not None and debtor is not None
            batch.exported_at, batch.execution_date, batch.sepa_schema = now, execution_date, schema
            batch.debtor_name, batch.debtor_iban, batch.debtor_bic = debtor
            record_transition(session, batch, actor, EXPORTED, now, cooperation=cooperation, run=run_id, message_id=message_id)
        else:
            assert to_status == PAID and batch.status == EXPORTED
            batch.paid_by_user_id, batch.paid_at = actor.user_id, now
            record_transition(session, batch, actor, PAID, now, cooperation=cooperation, run=run_id)


# -- returned lines (pasdienst/settlement/returns.py takes them back) -----------------

def returned_lines(session: Session, batch_id: int) -> dict[int, SettlementReturnedLine]:
    """The batch's returned lines by merchant id."""
    return {
        r.merchant_id: r
        for r in session.execute(
            select(SettlementReturnedLine).where(SettlementReturnedLine.batch_id == batch_id)
        ).scalars()
    }


def returned_before_payout(session: Session, batch_id: int) -> tuple[int, int]:
    """(lines, cents) of the batch returned while it was approved or exported: never paid out."""
    n, total = session.execute(
        select(func.count(), func.coalesce(func.sum(SettlementReturnedLine.amount_cents), 0)).where(
            SettlementReturnedLine.batch_id == batch_id, SettlementReturnedLine.batch_status.in_((APPROVED, EXPORTED))
        )
    ).one()
    return int(n), int(total)


# -- create -------------------------------------------------------------------------

def create_batch(
    session: Session, actor: Actor, municipality_code: str, *, until: date, today: date, now: datetime | None = None
) -> SettlementBatch:
    """One draft batch of everything waiting to be settled before ``until``.

    ``until`` is exclusive: the batch takes the redemptions (not voided, in
    no batch yet) whose date in Amsterdam is before it, and the corrections
    made before it. It may be today at the latest, so a batch only holds
    whole days that are over and nothing in it can still be voided.

    Raises ``NothingToSettle`` (nothing written) when nothing is waiting.
    """
    municipality = get_municipality(session, municipality_code)
    ensure_finance(actor, municipality.id)
    if isinstance(until, datetime) or not isinstance(until, date):
        raise ValidationFailed("until must be a date (YYYY-MM-DD)", refusal="settlement_until_not_date")
    if until.year < 2000:
        # No redemption is that old, and year 1 cannot even be moved to UTC.
        raise ValidationFailed(f"--until {until.isoformat()} is before 2000: no redemption is that old",
                               refusal="settlement_until_too_old")
    if until > today:
        raise ValidationFailed(
            f"--until {until.isoformat()} is after today ({today.isoformat()}): a batch takes only days "
            "that are over, so that nothing in it can still be voided", refusal="settlement_until_future",
        )
    cutoff, _ = day_bounds_utc(until)
    now = now or now_utc()
    lock_municipality(session, municipality.id)

    batch = SettlementBatch(
        municipality_id=municipality.id, status=DRAFT, until=until, count=0, total_cents=0,
        created_by_user_id=actor.user_id, created_at=now,
    )
    session.add(batch)
    session.flush()
    batch.message_id = message_id_for(batch.id, now)

    claimed = rowcount(session.execute(
        insert(_items).from_select(
            ["redemption_id", "batch_id"],
            select(_redemptions.c.id, literal(batch.id, BigInteger())).where(
                _redemptions.c.municipality_id == municipality.id,
                _redemptions.c.voided_at.is_(None),
                _redemptions.c.created_at < cutoff,
                ~select(_items.c.redemption_id).where(_items.c.redemption_id == _redemptions.c.id).exists(),
            )
            # In id order: SQLite then reads the table front to back and
            # appends to the item table, instead of following an index
            # through the table at random (44 s instead of 3 s at a million).
            .order_by(_redemptions.c.id),
        ).execution_options(preserve_rowcount=True)
    ))
    faults.checkpoint("settlement.create.after_claim")
    session.execute(
        update(_corrections)
        .where(
            _corrections.c.municipality_id == municipality.id,
            _corrections.c.settlement_batch_id.is_(None),
            _corrections.c.created_at < cutoff,
        )
        .values(settlement_batch_id=batch.id)
    )
    if not claimed:
        # Corrections alone never make a payment.
        raise NothingToSettle(f"nothing to settle for {municipality.code} before {until.isoformat()}")

    per_merchant = _claimed_per_merchant(session, batch.id)
    paid = {m: row for m, row in per_merchant.items() if row["redeemed"] - row["corrected"] > 0}
    released = sorted(set(per_merchant) - set(paid))
    if released:
        # Their corrections outweigh their redemptions: nothing is paid to
        # them now, and all their items wait for a later batch together.
        session.execute(
            delete(_items).where(
                _items.c.batch_id == batch.id,
                _items.c.redemption_id.in_(
                    select(_redemptions.c.id).where(_redemptions.c.merchant_id.in_(released))
                ),
            )
        )
        session.execute(
            update(_corrections)
            .where(_corrections.c.settlement_batch_id == batch.id, _corrections.c.merchant_id.in_(released))
            .values(settlement_batch_id=None)
        )
    if not paid:
        raise NothingToSettle(
            f"nothing to pay for {municipality.code} before {until.isoformat()}: "
            "every merchant's corrections outweigh its redemptions", refusal="nothing_to_pay",
        )
    session.execute(
        insert(_lines),
        [
            {
                "batch_id": batch.id,
                "merchant_id": merchant_id,
                "count": row["count"],
                "redeemed_cents": row["redeemed"],
                "corrected_cents": row["corrected"],
                "total_cents": row["redeemed"] - row["corrected"],
                "first_at": row["first_at"],
                "last_at": row["last_at"],
            }
            for merchant_id, row in sorted(paid.items())
        ],
    )
    batch.count = sum(row["count"] for row in paid.values())
    batch.total_cents = sum(row["redeemed"] - row["corrected"] for row in paid.values())
    batch.period_from = local_date(min(row["first_at"] for row in paid.values()))
    batch.period_until = local_date(max(row["last_at"] for row in paid.values()))
    record_transition(session, batch, actor, DRAFT, now, until=until.isoformat())
    faults.checkpoint("settlement.create.before_commit")
    return batch


def _claimed_per_merchant(session: Session, batch_id: int) -> dict[int, dict]:
    """Per merchant: what this batch claimed, added up in the database.

    One row per merchant comes back, never one per redemption.
    """
    result: dict[int, dict] = {}
    redeemed = session.execute(
        select(
            _redemptions.c.merchant_id,
            func.count(),
            func.sum(_redemptions.c.amount_cents),
            func.min(_redemptions.c.created_at),
            func.max(_redemptions.c.created_at),
        )
        .select_from(_items.join(_redemptions, _redemptions.c.id == _items.c.redemption_id))
        .where(_items.c.batch_id == batch_id)
        .group_by(_redemptions.c.merchant_id)
    )
    for merchant_id, n, total, first_at, last_at in redeemed:
        result[int(merchant_id)] = {
            "count": int(n), "redeemed": int(total), "corrected": 0, "first_at": first_at, "last_at": last_at,
        }
    corrected = session.execute(
        select(_corrections.c.merchant_id, func.sum(_corrections.c.amount_cents))
        .where(_corrections.c.settlement_batch_id == batch_id)
        .group_by(_corrections.c.merchant_id)
    )
    for merchant_id, total in corrected:
        row = result.setdefault(
            int(merchant_id), {"count": 0, "redeemed": 0, "corrected": 0, "first_at": None, "last_at": None}
        )
        row["corrected"] = int(total)
    return result


# -- approve, cancel, paid ------------------------------------------------------------

@dataclass(frozen=True)
class StepResult:
    batch: SettlementBatch
    #: False when the batch was already past this step (a harmless re-run).
    changed: bool


def four_eyes_blocker(session: Session, actor: Actor, batch: SettlementBatch) -> str | None:
    """Why ``actor`` may not approve ``batch`` (``"own"`` or ``"lineage"``), or None:
    the page offers the button only to someone who may press it."""
    if actor.user_id is None or actor.user_id == batch.created_by_user_id:
        return "own"
    if same_hands(session, actor.user_id, batch.created_by_user_id):
        return "lineage"
    return None


def approve_batch(
    session: Session, actor: Actor, batch_id: int, *, now: datetime | None = None, schema: str = DEFAULT_SCHEMA
) -> StepResult:
    """Four eyes: a finance user other than the creator approves the batch, and
    another person too (``access.policy.same_hands``).

    Moves each merchant's line total from its payable to settlement clearing
    and fixes the creditor details the payment file will carry. Refused,
    naming the merchant, when a merchant's IBAN does not check out, and
    refused (``SepaExportError``) when the payment file could not be built
    from what would be approved: a name no bank can use, the municipality
    without an IBAN. A refused batch stays a draft, so it can still be fixed
    or cancelled; once approved, only a bank return takes its money back.
    """
    batch = batch_for(session, actor, batch_id, lock=True)
    if batch.status in SETTLED_STATUSES:
        return StepResult(batch, False)
    if batch.status != DRAFT:
        raise WrongState(f"batch {batch.id} is {batch.status}; only a draft can be approved", batch=batch.id)
    blocker = four_eyes_blocker(session, actor, batch)
    if blocker == "own":
        raise FourEyes(
            f"batch {batch.id} was created by {actor.email}; another finance user must approve it (four eyes)",
            refusal="batch_four_eyes_own",
        )
    if blocker == "lineage":
        raise FourEyes(
            f"batch {batch.id} was created by an account of {actor.email}'s lineage (one sponsored the other, "
            "or one admin created or reset the password of both); another finance user must approve it (four eyes)",
            refusal="batch_four_eyes_lineage", lineage=True,
        )
    lock_municipality(session, batch.municipality_id)
    now = now or now_utc()
    municipality = session.get(Municipality, batch.municipality_id)
    assert municipality is not None
    rows = session.execute(
        select(SettlementLine, Merchant)
        .join(Merchant, Merchant.id == SettlementLine.merchant_id)
        .where(SettlementLine.batch_id == batch.id)
        .order_by(SettlementLine.merchant_id)
    ).all()
    problems: list[str] = []
    accounts: dict[int, tuple[str, str | None]] = {}
    for line, merchant in rows:
        try:
            checked = normalise_iban(merchant.iban, merchant.bic)
            accounts[merchant.id] = (checked.iban, checked.bic)
        except InvalidIBAN as exc:
            problems.append(f"merchant {merchant.name!r} (id {merchant.id}): {exc.message}")
    if problems:
        raise ValidationFailed(
            f"cannot approve batch {batch.id}: fix these bank accounts first: " + "; ".join(problems), errors=problems,
            refusal="batch_bank_accounts",
        )
    paid_by = paying_cooperation(session, municipality.id)
    debtor = (paid_by.name, paid_by.iban, paid_by.bic) if paid_by is not None else (municipality.name, municipality.iban, municipality.bic)
    _dry_run_export(batch, municipality, rows, accounts, now=now, schema=schema, debtor=debtor)
    clearing = ledger.get_account(session, books.clearing_key(municipality.code)).id
    payables = payable_accounts(session, municipality.code, [merchant.id for _, merchant in rows])
    owed = ledger.balances(session, payables.values())
    for line, merchant in rows:
        if owed[payables[merchant.id]] < line.total_cents:
            raise ledger.InsufficientFunds(
                f"batch {batch.id} would pay {merchant.name!r} {line.total_cents} cents, "
                f"more than the {owed[payables[merchant.id]]} owed",
                account_key=books.merchant_key(municipality.code, merchant.id),
                balance=owed[payables[merchant.id]],
                requested=line.total_cents,
                refusal="batch_payable_short", batch=batch.id, name=merchant.name,
            )
    posted = ledger.post_many(
        session,
        [
            ledger.NewTransfer.move(
                books.SETTLE, payables[merchant.id], clearing, line.total_cents,
                reference=f"settlement B{batch.id}", idempotency_key=f"settle:{batch.id}:{merchant.id}",
            )
            for line, merchant in rows
        ],
        now=now,
    )
    faults.checkpoint("settlement.approve.after_transfers")
    session.connection().execute(
        update(_lines)
        .where(_lines.c.id == bindparam("b_id"))
        .values(
            end_to_end_id=bindparam("b_e2e"),
            creditor_name=bindparam("b_name"),
            creditor_iban=bindparam("b_iban"),
            creditor_bic=bindparam("b_bic"),
            settle_transfer_id=bindparam("b_transfer"),
        ),
        [
            {
                "b_id": line.id,
                "b_e2e": end_to_end_id_for(batch.id, merchant.id),
                "b_name": merchant.name,
                "b_iban": accounts[merchant.id][0],
                "b_bic": accounts[merchant.id][1],
                "b_transfer": transfer.id,
            }
            for (line, merchant), transfer in zip(rows, posted)
        ],
    )
    session.expire_all()
    batch = batch_for(session, actor, batch_id)
    batch.approved_by_user_id = actor.user_id
    batch.approved_at = now
    record_transition(session, batch, actor, APPROVED, now)
    return StepResult(batch, True)


def payable_accounts(session: Session, municipality_code: str, merchant_ids: list[int]) -> dict[int, int]:
    """Each merchant's payable in the municipality's partition, by merchant id:
    its own payable (``Merchant.account_id``) for a merchant of the
    municipality, its payable there as a merchant of the municipality's
    cooperation otherwise; both are ``books.merchant_key``."""
    keys = {books.merchant_key(municipality_code, m): m for m in merchant_ids}
    found = {
        keys[key]: account_id
        for account_id, key in session.execute(
            select(ledger.Account.id, ledger.Account.key).where(ledger.Account.key.in_(list(keys)))
        )
    }
    missing = sorted(set(merchant_ids) - set(found))
    if missing:
        raise ledger.UnknownAccount(f"unknown account {books.merchant_key(municipality_code, missing[0])!r}")
    return found


def _dry_run_export(
    batch: SettlementBatch, municipality: Municipality, rows: Sequence[Row[SettlementLine, Merchant]], accounts: dict[int, tuple[str, str | None]],
    *, now: datetime, schema: str, debtor: tuple[str, str | None, str | None],
) -> None:
    """Build (in memory, validated, never written) the payment file approval
    would lead to; ``build_export`` makes it from the same values (from the
    cooperation's account when the cooperation pays)."""
    assert batch.message_id is not None and batch.period_from is not None and batch.period_until is not None
    remittance = remittance_for(batch.id, batch.period_from, batch.period_until)
    order = PaymentOrder(
        batch_id=batch.id,
        message_id=batch.message_id,
        created_at=now,
        execution_date=local_date(now),
        debtor_name=debtor[0],
        debtor_iban=debtor[1],
        debtor_bic=debtor[2],
        payments=tuple(
            Payment(
                name=merchant.name, iban=accounts[merchant.id][0], bic=accounts[merchant.id][1],
                amount_cents=line.total_cents, end_to_end_id=end_to_end_id_for(batch.id, merchant.id),
                remittance=remittance,
            )
            for line, merchant in rows
        ),
    )
    try:
        build_pain001(order, schema=schema)
    except SepaExportError as exc:
        problems = cast(list[str], exc.details.get("errors") or [exc.message])
        raise SepaExportError(
            f"cannot approve batch {batch.id}: its payment file could not be built: " + "; ".join(problems)
            + f". Fix this (e.g. pasdienst merchant rename ID --name NAME, pasdienst municipality set-iban "
            f"{municipality.code} --iban IBAN) and approve again, or cancel the batch",
            errors=problems, refusal="batch_approve_sepa", batch=batch.id,
            reasons=exc.details.get("reasons") or [("sepa.other", {})],
        ) from None


def cancel_batch(session: Session, actor: Actor, batch_id: int, *, now: datetime | None = None) -> StepResult:
    """Drop a draft: its redemptions and corrections become settleable again."""
    batch = batch_for(session, actor, batch_id, lock=True)
    if batch.status == CANCELLED:
        return StepResult(batch, False)
    if batch.status != DRAFT:
        raise WrongState(f"batch {batch.id} is {batch.status}; only a draft can be cancelled", batch=batch.id)
    lock_municipality(session, batch.municipality_id)
    now = now or now_utc()
    session.execute(delete(_items).where(_items.c.batch_id == batch.id))
    session.execute(
        update(_corrections).where(_corrections.c.settlement_batch_id == batch.id).values(settlement_batch_id=None)
    )
    batch.cancelled_by_user_id = actor.user_id
    batch.cancelled_at = now
    record_transition(session, batch, actor, CANCELLED, now)
    return StepResult(batch, True)


def mark_paid(session: Session, actor: Actor, batch_id: int, *, now: datetime | None = None) -> StepResult:
    """The bank executed the file: the batch total (less the lines it returned
    before) leaves clearing for the bank account."""
    batch = batch_for(session, actor, batch_id, lock=True)
    if batch.status == PAID:
        return StepResult(batch, False)
    refuse_if_cooperation_pays(session, batch, "paid")
    if batch.status != EXPORTED:
        hint = "export its payment file first" if batch.status == APPROVED else "approve and export it first"
        raise WrongState(f"batch {batch.id} is {batch.status}; {hint}" if batch.status != CANCELLED else f"batch {batch.id} is cancelled",
                         batch=batch.id)
    returned_count, returned_cents = returned_before_payout(session, batch.id)
    if returned_cents >= batch.total_cents:
        raise WrongState(f"every payment of batch {batch.id} was returned by the bank; there is nothing to pay",
                         refusal="batch_all_returned", batch=batch.id)
    now = now or now_utc()
    code = session.execute(select(Municipality.code).where(Municipality.id == batch.municipality_id)).scalar_one()
    # Lines the bank returned before this never left clearing with the rest.
    posted = ledger.transfer(
        session, kind=books.PAYOUT,
        source=ledger.get_account(session, books.clearing_key(code)).id,
        destination=ledger.get_account(session, books.bank_key(code)).id,
        amount=batch.total_cents - returned_cents, reference=f"settlement B{batch.id}",
        idempotency_key=f"payout:{batch.id}", now=now,
    )
    batch.payout_transfer_id = posted.id
    batch.paid_by_user_id = actor.user_id
    batch.paid_at = now
    record_transition(session, batch, actor, PAID, now)
    return StepResult(batch, True)



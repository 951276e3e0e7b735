"""Settlement invariants added to ``pasdienst ledger verify``.

The ledger proves that money balances; these prove that what was paid is
exactly what was redeemed: every batch's lines add up to the redemptions it
claimed (minus the corrections it nets off), every approved batch moved
exactly its lines out of the payables (and a line the bank returned moved
exactly that back), and clearing holds exactly what was approved, not
returned, not handed to a cooperation and not yet paid (so it is zero once
every batch is paid), and no
merchant payable is below zero (they keep no balance of their own since
migration 0009, so the ledger cannot guard them: settlement does, and this
proves it did).
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from .. import books
from ..cooperations.models import CooperationRemittance
from ..ledger import Account, Posting, Problem, Transfer, register_check
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from .models import (
    APPROVED,
    CANCELLED,
    EXPORTED,
    PAID,
    SETTLED_STATUSES,
    SettlementBatch,
    SettlementCorrection,
    SettlementItem,
    SettlementLine,
    SettlementReturnedItem,
    SettlementReturnedLine,
)

_TOO_MANY = 50


def _problem(check: str, message: str, ids: list[str]) -> list[Problem]:
    return [Problem(check, message, ids)] if ids else []


@register_check("settlement_lines")
def lines_match_redemptions(session: Session) -> list[Problem]:
    """Each batch's lines equal the sums of the redemptions it claimed, minus its corrections."""
    claimed: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = session.execute(
        select(SettlementItem.batch_id, Redemption.merchant_id, func.count(), func.sum(Redemption.amount_cents))
        .join(Redemption, Redemption.id == SettlementItem.redemption_id)
        .group_by(SettlementItem.batch_id, Redemption.merchant_id)
    )
    for batch_id, merchant_id, n, total in rows:
        claimed[(batch_id, merchant_id)][0:2] = [int(n), int(total)]
    for netted_in, merchant_id, total in session.execute(
        select(SettlementCorrection.settlement_batch_id, SettlementCorrection.merchant_id, func.sum(SettlementCorrection.amount_cents))
        .where(SettlementCorrection.settlement_batch_id.is_not(None))
        .group_by(SettlementCorrection.settlement_batch_id, SettlementCorrection.merchant_id)
    ):
        assert netted_in is not None
        claimed[(netted_in, merchant_id)][2] = int(total)
    # A line the bank returned gave its items and corrections back: it is
    # matched against the redemptions it kept a record of instead.
    for batch_id, merchant_id, corrected, n, total in session.execute(
        select(SettlementReturnedLine.batch_id, SettlementReturnedLine.merchant_id, SettlementLine.corrected_cents,
               func.count(Redemption.id), func.coalesce(func.sum(Redemption.amount_cents), 0))
        .join(SettlementLine, SettlementLine.id == SettlementReturnedLine.line_id)
        .outerjoin(SettlementReturnedItem, SettlementReturnedItem.line_id == SettlementReturnedLine.line_id)
        .outerjoin(Redemption, Redemption.id == SettlementReturnedItem.redemption_id)
        .group_by(SettlementReturnedLine.batch_id, SettlementReturnedLine.merchant_id, SettlementLine.corrected_cents)
    ):
        claimed[(batch_id, merchant_id)] = [int(n), int(total), int(corrected)]
    lines = {
        (line.batch_id, line.merchant_id): [line.count, line.redeemed_cents, line.corrected_cents]
        for line, status in session.execute(
            select(SettlementLine, SettlementBatch.status).join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
        )
        if status != CANCELLED
    }
    bad = sorted(
        f"B{b}/M{m}"
        for b, m in set(claimed) | set(lines)
        if claimed.get((b, m), [0, 0, 0]) != lines.get((b, m), [0, 0, 0])
    )
    problems = _problem(
        "settlement_lines",
        "batch lines (batch/merchant) that differ from the redemptions and corrections the batch holds",
        bad[:_TOO_MANY],
    )
    totals = (
        select(SettlementLine.batch_id, func.sum(SettlementLine.count).label("n"), func.sum(SettlementLine.total_cents).label("total"))
        .group_by(SettlementLine.batch_id)
        .subquery()
    )
    off = session.execute(
        select(SettlementBatch.id)
        .outerjoin(totals, totals.c.batch_id == SettlementBatch.id)
        .where(
            SettlementBatch.status != CANCELLED,
            (func.coalesce(totals.c.n, 0) != SettlementBatch.count)
            | (func.coalesce(totals.c.total, 0) != SettlementBatch.total_cents),
        )
        .order_by(SettlementBatch.id)
    ).scalars().all()
    return problems + _problem("settlement_lines", "batches whose count or total differs from their lines", [f"B{i}" for i in off])


@register_check("settlement_items")
def items_are_sound(session: Session) -> list[Problem]:
    """Claimed redemptions exist, are not voided, and belong to the batch's municipality."""
    bad = session.execute(
        select(SettlementItem.redemption_id)
        .outerjoin(Redemption, Redemption.id == SettlementItem.redemption_id)
        .outerjoin(SettlementBatch, SettlementBatch.id == SettlementItem.batch_id)
        .where(
            Redemption.id.is_(None)
            | SettlementBatch.id.is_(None)
            | Redemption.voided_at.is_not(None)
            | (Redemption.municipality_id != SettlementBatch.municipality_id)
            | (SettlementBatch.status == CANCELLED)
        )
        .order_by(SettlementItem.redemption_id)
        .limit(_TOO_MANY)
    ).scalars().all()
    return _problem(
        "settlement_items",
        "redemptions in a batch that are missing, voided, of another municipality, or in a cancelled batch",
        [str(i) for i in bad],
    )


@register_check("settlement_transfers")
def transfers_match_lines(session: Session) -> list[Problem]:
    """An approved batch moved each line's total from that merchant's payable to clearing; a paid one, its total to the bank."""
    payable_leg = (
        select(Posting.transfer_id.label("tid"), Posting.account_id.label("aid"), Posting.amount.label("amount"))
        .where(Posting.amount < 0)
        .subquery()
    )
    # The merchant's payable in the batch's partition: its own, or (a merchant
    # of the municipality's cooperation) the one it has there.
    payable = Account.__table__.alias("payable")
    rows = session.execute(
        select(SettlementLine.batch_id, SettlementLine.merchant_id, SettlementBatch.status, Transfer.kind, Transfer.amount, SettlementLine.total_cents, payable_leg.c.aid, payable.c.id)
        .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
        .join(Municipality, Municipality.id == SettlementBatch.municipality_id)
        .outerjoin(
            payable,
            payable.c.key == Municipality.code + literal(":merchant:") + cast(SettlementLine.merchant_id, String),
        )
        .outerjoin(Transfer, Transfer.id == SettlementLine.settle_transfer_id)
        .outerjoin(payable_leg, payable_leg.c.tid == SettlementLine.settle_transfer_id)
    ).all()
    bad = []
    for batch_id, merchant_id, status, kind, amount, total, debited, payable in rows:
        settled = status in SETTLED_STATUSES
        if settled != (kind is not None) or (settled and (kind != books.SETTLE or amount != total or debited != payable)):
            bad.append(f"B{batch_id}/M{merchant_id}")
    # A paid batch paid out its total less the lines returned before payment.
    unpaid_returns = (
        select(SettlementReturnedLine.batch_id.label("bid"), func.sum(SettlementReturnedLine.amount_cents).label("cents"))
        .where(SettlementReturnedLine.batch_status.in_((APPROVED, EXPORTED)))
        .group_by(SettlementReturnedLine.batch_id)
        .subquery()
    )
    payout_due = SettlementBatch.total_cents - func.coalesce(unpaid_returns.c.cents, 0)
    # A batch a cooperation's payment run paid has no payout of its own: its
    # money left clearing for the cooperation (cooperations/checks.py).
    own = CooperationRemittance.batch_id.is_(None)
    payouts = session.execute(
        select(SettlementBatch.id)
        .outerjoin(Transfer, Transfer.id == SettlementBatch.payout_transfer_id)
        .outerjoin(unpaid_returns, unpaid_returns.c.bid == SettlementBatch.id)
        .outerjoin(CooperationRemittance, CooperationRemittance.batch_id == SettlementBatch.id)
        .where(
            ((SettlementBatch.status == PAID) & own & ((Transfer.kind != books.PAYOUT) | (Transfer.amount != payout_due) | Transfer.id.is_(None)))
            | (((SettlementBatch.status != PAID) | ~own) & SettlementBatch.payout_transfer_id.is_not(None))
        )
        .order_by(SettlementBatch.id)
    ).scalars().all()
    return (
        _problem(
            "settlement_transfers", "batch lines without the settle transfer their state needs, or with a different one", sorted(bad)[:_TOO_MANY]
        )
        + _problem("settlement_transfers", "paid batches without their payout transfer", [f"B{i}" for i in payouts])
        + _returned_transfers(session)
    )


def _returned_transfers(session: Session) -> list[Problem]:
    """A returned line reversed exactly its settle transfer, and (returned after
    payment) brought exactly its total back from the bank account first."""
    reversal = Transfer.__table__.alias("reversal")
    refund = Transfer.__table__.alias("refund")
    rows = session.execute(
        select(
            SettlementReturnedLine.batch_id, SettlementReturnedLine.merchant_id, SettlementReturnedLine.batch_status,
            SettlementReturnedLine.amount_cents, SettlementLine.total_cents, SettlementLine.settle_transfer_id,
            reversal.c.reverses_id, reversal.c.amount, refund.c.kind, refund.c.amount,
        )
        .join(SettlementLine, SettlementLine.id == SettlementReturnedLine.line_id)
        .outerjoin(reversal, reversal.c.id == SettlementReturnedLine.reversal_transfer_id)
        .outerjoin(refund, refund.c.id == SettlementReturnedLine.refund_transfer_id)
    ).all()
    bad = sorted(
        f"B{batch_id}/M{merchant_id}"
        for batch_id, merchant_id, stage, amount, total, settle_id, reverses, reversed_amount, refund_kind, refund_amount in rows
        if amount != total
        or reverses is None or reverses != settle_id or reversed_amount != total
        or (stage == PAID) != (refund_kind is not None)
        or (refund_kind is not None and (refund_kind != books.BANK_RETURN or refund_amount != total))
    )
    return _problem(
        "settlement_transfers", "returned batch lines whose reversal (or bank refund) does not match the line", bad[:_TOO_MANY]
    )


@register_check("settlement_clearing")
def clearing_holds_unpaid_batches(session: Session) -> list[Problem]:
    """Clearing holds what was approved but not yet paid: zero once every batch is paid."""
    unpaid: dict[int, int] = defaultdict(int)
    for municipality_id, total in session.execute(
        select(SettlementBatch.municipality_id, func.sum(SettlementBatch.total_cents))
        .where(SettlementBatch.status.in_(tuple(s for s in SETTLED_STATUSES if s != PAID)))
        .group_by(SettlementBatch.municipality_id)
    ):
        unpaid[municipality_id] += int(total)
    # Returned before payment: back on the payables, out of clearing. (After
    # payment a return passes through clearing and leaves nothing there.)
    for municipality_id, returned in session.execute(
        select(SettlementBatch.municipality_id, func.sum(SettlementReturnedLine.amount_cents))
        .join(SettlementBatch, SettlementBatch.id == SettlementReturnedLine.batch_id)
        .where(SettlementBatch.status.in_(tuple(s for s in SETTLED_STATUSES if s != PAID)))
        .group_by(SettlementBatch.municipality_id)
    ):
        unpaid[municipality_id] -= int(returned)
    # Taken into a cooperation's payment run: the share left clearing then.
    for municipality_id, remitted in session.execute(
        select(SettlementBatch.municipality_id, func.sum(CooperationRemittance.amount_cents))
        .join(SettlementBatch, SettlementBatch.id == CooperationRemittance.batch_id)
        .where(SettlementBatch.status.in_(tuple(s for s in SETTLED_STATUSES if s != PAID)))
        .group_by(SettlementBatch.municipality_id)
    ):
        unpaid[municipality_id] -= int(remitted)
    bad = []
    for municipality_id, code, balance in session.execute(
        select(Municipality.id, Municipality.code, Account.balance)
        .join(Account, (Account.ledger == Municipality.code) & (Account.kind == books.CLEARING))
        .order_by(Municipality.code)
    ):
        if int(balance) != int(unpaid.get(municipality_id, 0)):
            bad.append(f"{code} (clearing {balance}, approved and unpaid {unpaid.get(municipality_id, 0)})")
    return _problem("settlement_clearing", "clearing accounts that do not hold exactly the approved, unpaid batches", bad)


@register_check("merchant_payables")
def payables_not_negative(session: Session) -> list[Problem]:
    """No merchant is owed less than nothing: its payable, summed from its postings, is at least zero."""
    rows = session.execute(
        select(Account.key, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.kind == books.MERCHANT_PAYABLE)
        .group_by(Account.id, Account.key)
        .having(func.sum(Posting.amount) < 0)
        .order_by(Account.key)
        .limit(_TOO_MANY)
    ).all()
    return _problem(
        "merchant_payables", "merchant payables below zero (a correction or return took more than was owed)",
        [f"{key} ({int(total)})" for key, total in rows],
    )

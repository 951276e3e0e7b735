"""Cooperation invariants added to ``pasdienst ledger verify``.

The ledger already refuses a transfer across partitions. These prove that a
cooperation moves no cent between its members either:

* ``redemption_partitions``: every redemption is paid from the partition of
  its pass's municipality (the voucher's account there) into the merchant's
  payable in that same partition, wherever the merchant is based; the
  redemption is that municipality's to settle.
* ``cooperation_payables``: a merchant takes another municipality's passes
  only through a ``cooperation_payable`` row of an active member of the
  cooperation the merchant is admitted to (its own municipality an active
  member of it as well), naming its payable in that member's partition.
* ``cooperation_remittances`` and ``cooperation_runs``: when the cooperation
  pays, a member's share reaches it only through a remittance (two labelled
  transfers, one in each partition), and its runs pay exactly that, per
  merchant as the members' lines say.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session, aliased

from .. import books
from ..ledger import Account, Posting, Problem, Transfer, register_check
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..settlement.models import APPROVED, EXPORTED, PAID, SettlementBatch, SettlementReturnedLine
from ..wallet.models import ChildPass, Voucher
from .models import (
    ACTIVE,
    RUN_EXPORTED,
    RUN_PAID,
    RUN_REMITTED,
    Cooperation,
    CooperationMember,
    CooperationMerchant,
    CooperationPayable,
    CooperationPayment,
    CooperationRemittance,
    CooperationRun,
)
from .runs import allocation

_TOO_MANY = 50


def _problem(check: str, message: str, ids: list[str]) -> list[Problem]:
    return [Problem(check, message, ids[:_TOO_MANY])] if ids else []


@register_check("redemption_partitions")
def redemptions_stay_in_their_partition(session: Session) -> list[Problem]:
    """A redemption moves money only inside its pass's municipality's partition:
    off that pass's voucher, onto the merchant's payable there."""
    of_other_pass = session.execute(
        select(Redemption.id)
        .join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(ChildPass.municipality_id != Redemption.municipality_id)
        .order_by(Redemption.id)
        .limit(_TOO_MANY)
    ).scalars().all()
    # At a merchant of its own municipality the ledger's own checks already
    # hold a redemption in one partition (the voucher's and the merchant's own
    # payable); at a merchant of a fellow member, follow its postings.
    source = aliased(Account)
    destination = aliased(Account)
    debit = aliased(Posting)
    credit = aliased(Posting)
    crossing = session.execute(
        select(Redemption.id)
        .join(Merchant, Merchant.id == Redemption.merchant_id)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .join(Municipality, Municipality.id == Redemption.municipality_id)
        .join(Transfer, Transfer.id == Redemption.transfer_id)
        .join(debit, (debit.transfer_id == Transfer.id) & (debit.amount < 0))
        .join(source, source.id == debit.account_id)
        .join(credit, (credit.transfer_id == Transfer.id) & (credit.amount > 0))
        .join(destination, destination.id == credit.account_id)
        .where(
            Merchant.municipality_id != Redemption.municipality_id,
            (Voucher.pass_id != Redemption.pass_id)
            | (Transfer.kind != books.REDEEM)
            | (Transfer.ledger != Municipality.code)
            | (source.id != Voucher.account_id)
            | (destination.key != Municipality.code + literal(":merchant:") + cast(Redemption.merchant_id, String)),
        )
        .order_by(Redemption.id)
        .limit(_TOO_MANY)
    ).scalars().all()
    return _problem(
        "redemption_partitions",
        "redemptions not paid from their pass's municipality into the merchant's payable there",
        [str(i) for i in sorted({*of_other_pass, *crossing})],
    )


@register_check("cooperation_payables")
def payables_belong_to_the_cooperation(session: Session) -> list[Problem]:
    """Every payable a merchant holds outside its own municipality is one of
    its cooperation's active members', opened for it when it was admitted."""
    home = aliased(CooperationMember)
    there = aliased(CooperationMember)
    rows = session.execute(
        select(
            CooperationPayable.merchant_id, CooperationPayable.municipality_id, CooperationPayable.cooperation_id,
            Merchant.municipality_id, CooperationMerchant.cooperation_id, home.cooperation_id, home.status,
            there.cooperation_id, there.status, Account.key, Account.ledger, Account.kind, Municipality.code,
        )
        .join(Merchant, Merchant.id == CooperationPayable.merchant_id)
        .join(Municipality, Municipality.id == CooperationPayable.municipality_id)
        .join(Account, Account.id == CooperationPayable.account_id)
        .outerjoin(CooperationMerchant, CooperationMerchant.merchant_id == CooperationPayable.merchant_id)
        .outerjoin(home, home.municipality_id == Merchant.municipality_id)
        .outerjoin(there, there.municipality_id == CooperationPayable.municipality_id)
    ).all()
    bad = sorted(
        f"M{merchant_id}@{code}"
        for (merchant_id, member_id, cooperation_id, own_id, admitted_in, home_in, home_status, there_in, there_status,
             key, partition, kind, code) in rows
        if member_id == own_id
        or admitted_in != cooperation_id
        or home_in != cooperation_id or home_status != ACTIVE
        or there_in != cooperation_id or there_status != ACTIVE
        or key != books.merchant_key(code, merchant_id) or partition != code or kind != books.MERCHANT_PAYABLE
    )
    return _problem(
        "cooperation_payables",
        "merchants taking another municipality's passes outside an active membership of their cooperation",
        bad,
    )


def _postings(session: Session, transfer_ids: list) -> dict:
    """Per transfer id: {account key: amount}."""
    found: dict = defaultdict(dict)
    for start in range(0, len(transfer_ids), 1000):
        for tid, key, amount in session.execute(
            select(Posting.transfer_id, Account.key, Posting.amount)
            .join(Account, Account.id == Posting.account_id)
            .where(Posting.transfer_id.in_(transfer_ids[start : start + 1000]))
        ):
            found[tid][key] = int(amount)
    return found


@register_check("cooperation_remittances")
def remittances_say_so(session: Session) -> list[Problem]:
    """A member's share reaches its cooperation only through a remittance: two
    transfers of exactly what its batch pays, one in each partition
    (``remit_to_cooperation`` from the member's clearing to its remitted
    account, ``received_from_member`` from its share account to the
    cooperation's clearing); no other transfer of those kinds, no other
    posting on those accounts; the batch follows its run."""
    returned = dict(
        session.execute(
            select(SettlementReturnedLine.batch_id, func.sum(SettlementReturnedLine.amount_cents))
            .where(SettlementReturnedLine.batch_status.in_((APPROVED, EXPORTED)))
            .group_by(SettlementReturnedLine.batch_id)
        ).all()
    )
    member = aliased(Municipality)
    rows = session.execute(
        select(CooperationRemittance, SettlementBatch, CooperationRun.status, Cooperation.code, member.code)
        .join(SettlementBatch, SettlementBatch.id == CooperationRemittance.batch_id)
        .join(CooperationRun, CooperationRun.id == CooperationRemittance.run_id)
        .join(Cooperation, Cooperation.id == CooperationRun.cooperation_id)
        .join(member, member.id == CooperationRemittance.municipality_id)
    ).all()
    transfer_ids = [t for r, *_ in rows for t in (r.member_transfer_id, r.cooperation_transfer_id)]
    transfers = {
        t.id: t for start in range(0, len(transfer_ids), 1000)
        for t in session.execute(select(Transfer).where(Transfer.id.in_(transfer_ids[start : start + 1000]))).scalars()
    }
    postings = _postings(session, transfer_ids)
    bad = []
    remitted: dict[tuple[str, str], int] = defaultdict(int)
    follows = {RUN_REMITTED: APPROVED, RUN_EXPORTED: EXPORTED, RUN_PAID: PAID}
    for remittance, batch, run_status, coop, code in rows:
        amount = remittance.amount_cents
        remitted[(code, coop)] += amount
        coop_ledger = books.cooperation_ledger(coop)
        mine, theirs = transfers.get(remittance.member_transfer_id), transfers.get(remittance.cooperation_transfer_id)
        if (
            batch.municipality_id != remittance.municipality_id
            or amount != batch.total_cents - int(returned.get(batch.id, 0))
            or batch.status != follows[run_status]
            or mine is None or (mine.kind, mine.ledger, mine.amount, mine.reverses_id) != (books.REMIT, code, amount, None)
            or theirs is None
            or (theirs.kind, theirs.ledger, theirs.amount, theirs.reverses_id) != (books.RECEIVE, coop_ledger, amount, None)
            or postings[mine.id] != {books.clearing_key(code): -amount, books.remitted_key(code, coop): amount}
            or postings[theirs.id] != {books.share_key(coop, code): -amount, books.clearing_key(coop_ledger): amount}
        ):
            bad.append(f"B{batch.id}")
    problems = _problem(
        "cooperation_remittances",
        "batches handed to a cooperation whose two transfers, amount or state do not match", sorted(bad),
    )
    stray = session.execute(
        select(Transfer.id)
        .where(Transfer.kind.in_((books.REMIT, books.RECEIVE)), Transfer.id.not_in(
            select(CooperationRemittance.member_transfer_id).union(select(CooperationRemittance.cooperation_transfer_id))
        ))
        .order_by(Transfer.id)
        .limit(_TOO_MANY)
    ).scalars().all()
    problems += _problem(
        "cooperation_remittances", "transfers to or from a cooperation that no remittance records", [str(t) for t in stray]
    )
    balances = {
        key: int(total or 0)
        for key, total in session.execute(
            select(Account.key, func.sum(Posting.amount))
            .outerjoin(Posting, Posting.account_id == Account.id)
            .where(Account.kind.in_((books.REMITTED, books.COOPERATION_SHARE)))
            .group_by(Account.key)
        )
    }
    expected = {}
    for (code, coop), total in remitted.items():
        expected[books.remitted_key(code, coop)] = total
        expected[books.share_key(coop, code)] = -total
    off = sorted(
        f"{key} ({balances.get(key, 0)}, remitted {expected.get(key, 0)})"
        for key in set(balances) | set(expected)
        if balances.get(key, 0) != expected.get(key, 0)
    )
    return problems + _problem(
        "cooperation_remittances", "members' remitted and share accounts that differ from their remittances", off
    )


@register_check("cooperation_runs")
def runs_pay_what_was_remitted(session: Session) -> list[Problem]:
    """A run pays exactly what its members remitted, per merchant as their
    lines say; the cooperation's clearing holds its runs not paid yet, its
    bank account the paid ones, and nothing else moves in its partition."""
    remitted = dict(
        session.execute(
            select(CooperationRemittance.run_id, func.sum(CooperationRemittance.amount_cents))
            .group_by(CooperationRemittance.run_id)
        ).all()
    )
    paid: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for run_id, merchant_id, n, total in session.execute(
        select(CooperationPayment.run_id, CooperationPayment.merchant_id, func.sum(CooperationPayment.count),
               func.sum(CooperationPayment.amount_cents))
        .group_by(CooperationPayment.run_id, CooperationPayment.merchant_id)
    ):
        paid[(run_id, merchant_id)] = [int(n), int(total)]
    runs = session.execute(select(CooperationRun, Cooperation.code).join(Cooperation)).all()
    bad = []
    held: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    payouts = {}
    for run, coop in runs:
        owed: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for merchant_id, _code, _batch, count, cents, _account in allocation(session, run.id):
            owed[(run.id, merchant_id)][0] += count
            owed[(run.id, merchant_id)][1] += cents
        mine = {k: v for k, v in paid.items() if k[0] == run.id}
        if (
            int(remitted.get(run.id, 0)) != run.total_cents
            or dict(owed) != mine
            or sum(v[1] for v in mine.values()) != run.total_cents
            or sum(v[0] for v in mine.values()) != run.count
            or (run.status == RUN_PAID) != (run.payout_transfer_id is not None)
        ):
            bad.append(f"R{run.id}")
        held[coop][1 if run.status == RUN_PAID else 0] += run.total_cents
        if run.payout_transfer_id is not None:
            payouts[run.payout_transfer_id] = (run, coop)
    problems = _problem("cooperation_runs", "runs whose payments differ from what their members remitted", sorted(bad))
    wrong_payouts = []
    for tid, keys in _postings(session, list(payouts)).items():
        run, coop = payouts[tid]
        ledger_name = books.cooperation_ledger(coop)
        if keys != {books.clearing_key(ledger_name): -run.total_cents, books.bank_key(ledger_name): run.total_cents}:
            wrong_payouts.append(f"R{run.id}")
    problems += _problem("cooperation_runs", "paid runs whose payout does not move their total to the bank", wrong_payouts)
    coops = session.execute(select(Cooperation.code)).scalars().all()
    balances = {
        key: int(total or 0)
        for key, total in session.execute(
            select(Account.key, func.sum(Posting.amount))
            .outerjoin(Posting, Posting.account_id == Account.id)
            .where(Account.ledger.in_([books.cooperation_ledger(c) for c in coops]), Account.kind.in_((books.CLEARING, books.BANK)))
            .group_by(Account.key)
        )
    }
    off = []
    for coop in coops:
        ledger_name = books.cooperation_ledger(coop)
        clearing, bank = balances.get(books.clearing_key(ledger_name), 0), balances.get(books.bank_key(ledger_name), 0)
        if [clearing, bank] != held[coop]:
            off.append(f"{coop} (clearing {clearing}, bank {bank}; runs unpaid {held[coop][0]}, paid {held[coop][1]})")
    problems += _problem("cooperation_runs", "cooperations whose clearing or bank differs from their runs", off)
    other = session.execute(
        select(Transfer.id)
        .where(
            Transfer.ledger.in_([books.cooperation_ledger(c) for c in coops]),
            Transfer.kind != books.RECEIVE,
            Transfer.id.not_in(select(CooperationRun.payout_transfer_id).where(CooperationRun.payout_transfer_id.is_not(None))),
        )
        .order_by(Transfer.id)
        .limit(_TOO_MANY)
    ).scalars().all()
    return problems + _problem(
        "cooperation_runs", "transfers in a cooperation's partition that are neither a remittance nor a run's payout",
        [str(t) for t in other],
    )

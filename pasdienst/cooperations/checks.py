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
"""
from __future__ import annotations

from sqlalchemy import String, cast, literal, select
from sqlalchemy.orm import Session, aliased

from .. import books
from ..ledger.models import Account, Posting, Transfer
from ..ledger.verify import Problem, register_check
from ..municipalities.models import Municipality
from ..redeem.models import Merchant, Redemption
from ..wallet.models import ChildPass, Voucher
from .models import ACTIVE, CooperationMember, CooperationMerchant, CooperationPayable

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

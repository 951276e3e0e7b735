"""Maatwerk's invariants, added to ``pasdienst ledger verify``.

The ledger proves that money balances; these prove that each award is the
voucher and the transfer it says it is, and that a fund's money moves only
by the transfers that say so.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from .. import books
from ..ledger import Account, Posting, Problem, Transfer, register_check
from ..municipalities.models import Municipality
from ..merchants.models import VoucherBinding
from ..wallet.models import BUDGET, Voucher
from .models import Award, Fund


def _problem(name: str, message: str, ids: Sequence[object]) -> list[Problem]:
    return [Problem(name, message, [str(i) for i in ids])] if ids else []


@register_check("maatwerk_award_vouchers")
def award_vouchers(session: Session) -> list[Problem]:
    """Each award is a budget voucher of its municipality, with its code, category and amount, whose
    unused money goes back where it came from (a fund's to the fund's account)."""
    bad = session.execute(
        select(Award.id)
        .join(Voucher, Voucher.id == Award.voucher_id)
        .outerjoin(Fund, Fund.id == Award.fund_id)
        .where(
            (Voucher.kind != BUDGET)
            | (Voucher.municipality_id != Award.municipality_id)
            | (Voucher.category != Award.category)
            | (Voucher.initial_cents != Award.amount_cents)
            | (Voucher.code != literal("maatwerk-") + cast(Award.id, String))
            | (Voucher.carried_from_id.is_not(None))
            # A team's money goes back to the municipality's fund (None), a fund's to its own account.
            | (Award.fund_id.is_(None) & Voucher.return_account_id.is_not(None))
            | (Award.fund_id.is_not(None) & ((Voucher.return_account_id.is_(None))
                                             | (Voucher.return_account_id != Fund.account_id)))
        )
        .order_by(Award.id)
    ).scalars().all()
    return _problem("maatwerk_award_vouchers", "awards whose voucher is not their budget voucher of that code, category, amount and return account", bad)


@register_check("maatwerk_award_transfers")
def award_transfers(session: Session) -> list[Problem]:
    """Each award's transfer is an ``issue`` (a team's) or ``fund_award`` (a fund's, from that fund's
    account) of its amount into its voucher's account."""
    credited = (
        select(Posting.transfer_id, Posting.account_id, Posting.amount).where(Posting.amount > 0).subquery()
    )
    source = select(Posting.transfer_id, Posting.account_id).where(Posting.amount < 0).subquery()
    bad = session.execute(
        select(Award.id)
        .join(Transfer, Transfer.id == Award.transfer_id)
        .join(Voucher, Voucher.id == Award.voucher_id)
        .outerjoin(credited, (credited.c.transfer_id == Transfer.id) & (credited.c.account_id == Voucher.account_id))
        .outerjoin(Fund, Fund.id == Award.fund_id)
        .outerjoin(source, source.c.transfer_id == Transfer.id)
        .where(
            (Transfer.amount != Award.amount_cents)
            | (credited.c.amount.is_(None))
            | (credited.c.amount != Award.amount_cents)
            | (Transfer.reverses_id.is_not(None))
            | (Award.team_id.is_not(None) & (Transfer.kind != books.ISSUE))
            | (Award.fund_id.is_not(None) & ((Transfer.kind != books.FUND_AWARD) | (source.c.account_id != Fund.account_id)))
        )
        .distinct()
        .order_by(Award.id)
    ).scalars().all()
    return _problem("maatwerk_award_transfers", "awards whose transfer does not move their amount from their team's or fund's money onto their voucher", bad)


@register_check("maatwerk_fund_money")
def fund_money(session: Session) -> list[Problem]:
    """A fund's account moves only by ``fund_topup`` (in, from its own source), ``fund_award`` (out,
    to a voucher) and ``fund_return`` (back from a voucher); its source only by ``fund_topup``."""
    allowed = {
        books.FUND_ORG: (books.FUND_TOPUP, books.FUND_AWARD, books.FUND_RETURN),
        books.FUND_ORG_SOURCE: (books.FUND_TOPUP,),
    }
    bad: list[object] = []
    for kind, kinds in allowed.items():
        bad.extend(session.execute(
            select(Transfer.id)
            .join(Posting, Posting.transfer_id == Transfer.id)
            .join(Account, Account.id == Posting.account_id)
            .where(Account.kind == kind, Transfer.kind.not_in(kinds))
            .distinct()
        ).scalars())
    # And those kinds touch no other money: a fund's transfer is between its accounts and a voucher.
    others = session.execute(
        select(Transfer.id)
        .join(Posting, Posting.transfer_id == Transfer.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Transfer.kind.in_((books.FUND_TOPUP, books.FUND_AWARD, books.FUND_RETURN)),
            Account.kind.not_in((books.FUND_ORG, books.FUND_ORG_SOURCE, books.VOUCHER)),
        )
        .distinct()
    ).scalars().all()
    return _problem("maatwerk_fund_money", "transfers that move a fund's money other than by its top-ups, awards and returns", sorted({*bad, *others}, key=str))


@register_check("maatwerk_award_bindings")
def award_bindings(session: Session) -> list[Problem]:
    """An award bound to a merchant has exactly that one binding of its code; an unbound award none."""
    bindings = (
        select(VoucherBinding.municipality_id, VoucherBinding.voucher_code, func.count().label("n"),
               func.min(VoucherBinding.merchant_id).label("merchant_id"))
        .group_by(VoucherBinding.municipality_id, VoucherBinding.voucher_code)
        .subquery()
    )
    bad = session.execute(
        select(Award.id)
        .join(Voucher, Voucher.id == Award.voucher_id)
        .outerjoin(bindings, (bindings.c.voucher_code == Voucher.code)
                   & (bindings.c.municipality_id == Award.municipality_id))
        .where(
            (Award.merchant_id.is_(None) & bindings.c.n.is_not(None))
            | (Award.merchant_id.is_not(None) & ((bindings.c.n != 1) | bindings.c.n.is_(None)
                                                 | (bindings.c.merchant_id != Award.merchant_id)))
        )
        .order_by(Award.id)
    ).scalars().all()
    return _problem("maatwerk_award_bindings", "awards whose merchant binding is missing, extra or another merchant's", bad)


@register_check("maatwerk_return_accounts")
def return_accounts(session: Session) -> list[Problem]:
    """A voucher that names where its unused money goes back names a fund's account of its own municipality."""
    bad = session.execute(
        select(Voucher.id)
        .join(Account, Account.id == Voucher.return_account_id)
        .join(Municipality, Municipality.id == Voucher.municipality_id)
        .where((Account.kind != books.FUND_ORG) | (Account.ledger != Municipality.code))
        .order_by(Voucher.id)
    ).scalars().all()
    return _problem("maatwerk_return_accounts", "vouchers whose money would go back to an account that is not a fund's of their municipality", bad)

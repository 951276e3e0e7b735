"""Wallet invariants added to ``pasdienst ledger verify``.

The ledger proves that money balances; these prove that the money sits
where the wallet says it should.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import books
from ..ledger import Account, Problem, register_check
from ..municipalities.models import Municipality
from .models import EXPIRED, PUNCHCARD, REPLACED, ChildPass, Voucher


@register_check("wallet_voucher_accounts")
def voucher_accounts(session: Session) -> list[Problem]:
    """Each voucher's account is a voucher account of its own municipality."""
    bad = session.execute(
        select(Voucher.id)
        .join(Account, Account.id == Voucher.account_id)
        .join(Municipality, Municipality.id == Voucher.municipality_id)
        .where(
            (Account.kind != books.VOUCHER)
            | (Account.ledger != Municipality.code)
            | (Account.non_negative.is_(False))
        )
        .order_by(Voucher.id)
    ).scalars().all()
    return [Problem("wallet_voucher_accounts", "vouchers whose account is not a non-negative voucher account of their municipality", [str(i) for i in bad])] if bad else []


@register_check("wallet_whole_strips")
def whole_strips(session: Session) -> list[Problem]:
    """A punch card holds whole strips: its balance is a multiple of the strip value."""
    bad = session.execute(
        select(Voucher.id)
        .join(Account, Account.id == Voucher.account_id)
        .where(Voucher.kind == PUNCHCARD, Account.balance % Voucher.strip_value_cents != 0)
        .order_by(Voucher.id)
    ).scalars().all()
    return [Problem("wallet_whole_strips", "punch cards holding part of a strip", [str(i) for i in bad])] if bad else []


@register_check("wallet_expired_passes_empty")
def expired_passes_empty(session: Session) -> list[Problem]:
    """Expired passes hold no money: year end returned it to the fund."""
    bad = session.execute(
        select(Voucher.id)
        .join(ChildPass, ChildPass.id == Voucher.pass_id)
        .join(Account, Account.id == Voucher.account_id)
        .where(ChildPass.status == EXPIRED, Account.balance != 0)
        .order_by(Voucher.id)
    ).scalars().all()
    return [Problem("wallet_expired_passes_empty", "vouchers of expired passes that still hold money", [str(i) for i in bad])] if bad else []


@register_check("wallet_replaced_passes_empty")
def replaced_passes_empty(session: Session) -> list[Problem]:
    """Replaced passes hold no money: a reissue carried it over, and what a
    void or correction gives back later follows the child to the current pass."""
    bad = session.execute(
        select(Voucher.id)
        .join(ChildPass, ChildPass.id == Voucher.pass_id)
        .join(Account, Account.id == Voucher.account_id)
        .where(ChildPass.status == REPLACED, Account.balance != 0)
        .order_by(Voucher.id)
    ).scalars().all()
    return [Problem("wallet_replaced_passes_empty", "vouchers of replaced passes that still hold money", [str(i) for i in bad])] if bad else []

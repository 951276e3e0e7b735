"""Payments of the past months in ``demodorp`` (a step of ``pasdienst.demo``),
and how to try the till (``/merchant``).

A demo municipality in full swing: about two in three children have used
their pass, at several shops and clubs, spread over the months before today,
so the usage report and its charts show real figures and finance has
something to settle. One in three has used nothing, as the national study
found where usage was known. Each payment goes through the till's own
service (``redeem``) with the moment it happened, one merchant login each.

Idempotent: once the municipality has a payment, nothing is added. The
printed demo passes keep most of their sport budget, so a newcomer can still
charge them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.demo import DEMO_MERCHANTS
from ..access.accounts import actor_for_email
from ..clock import AMSTERDAM
from ..config import Settings
from ..municipalities.services import get_municipality
from ..wallet import tokens
from ..wallet.models import ACTIVE, ChildPass
from .models import Redemption
from .redemptions import VoucherView, redeem, scan

DEMO_MUNICIPALITY = "demodorp"
#: How far back the payments go (never before the passes were valid).
HISTORY_DAYS = 150
#: Share of children who have used their pass.
USERS = 2 / 3


class Report(Protocol):
    def add(self, line: str) -> None: ...


@dataclass(frozen=True)
class _Plan:
    at: datetime
    day: date
    payload: str
    key: str


def load_redeem_demo(session: Session, report: Report, settings: Settings, today: date) -> None:
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    made = session.execute(
        select(func.count()).select_from(Redemption).where(Redemption.municipality_id == municipality.id)
    ).scalar_one()
    if not made:
        _pay_the_past_months(session, municipality.id, settings, today)
    payments, children, merchants = session.execute(
        select(func.count(), func.count(func.distinct(ChildPass.child_id)), func.count(func.distinct(Redemption.merchant_id)))
        .select_from(Redemption).join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(Redemption.municipality_id == municipality.id)
    ).one()
    report.add(f"{payments} payments of the past months: {children} children at {merchants} shops and clubs")
    name, category, _bank, _account, email, password = DEMO_MERCHANTS[0]
    report.add(
        f"try the till: open {settings.base_url}/login on a phone (or a narrow window), log in as "
        f"{email} / {password} ({name}, {category}), then scan a pass's QR code "
        "(its link above + /qr.png, on another screen) or type its code"
    )


def _pay_the_past_months(session: Session, municipality_id: int, settings: Settings, today: date) -> None:
    passes = session.execute(
        select(ChildPass).where(ChildPass.municipality_id == municipality_id, ChildPass.status == ACTIVE)
        .order_by(ChildPass.id)
    ).scalars().all()
    merchants = [actor_for_email(session, email) for *_rest, email, _password in DEMO_MERCHANTS]
    plans: list[_Plan] = []
    for child_pass in passes:
        first = max(child_pass.valid_from, today - timedelta(days=HISTORY_DAYS))
        days = (today - first).days  # up to yesterday
        dice = random.Random(child_pass.pass_number)  # the same history on every machine
        if days < 1 or dice.random() >= USERS:
            continue
        payload = tokens.payload_for(settings, child_pass.handle)
        for n in range(dice.randint(1, 4)):
            day = first + timedelta(days=dice.randrange(days))
            at = datetime.combine(day, time(dice.randint(9, 19), dice.randrange(60)), AMSTERDAM)
            plans.append(_Plan(at.astimezone(timezone.utc), day, payload, f"demo:{child_pass.pass_number}:{n}"))
    # In the order they happened: receipts, ledger and settlement read time forwards.
    for plan in sorted(plans, key=lambda p: p.at):
        dice = random.Random(plan.key)
        for merchant in dice.sample(merchants, len(merchants)):
            vouchers = [v for v in scan(session, merchant, plan.payload, settings=settings, today=plan.day).vouchers
                        if v.balance_cents > 0]
            if vouchers:  # else this shop takes nothing the child still has: the next one
                voucher = dice.choice(vouchers)
                amount, strips = _what_is_bought(voucher, dice)
                redeem(session, merchant, code=plan.payload, voucher_id=voucher.id, amount_cents=amount, strips=strips,
                       idempotency_key=plan.key, settings=settings, today=plan.day, now=plan.at)
                break


def _what_is_bought(voucher: VoucherView, dice: random.Random) -> tuple[int | None, int | None]:
    """A plausible purchase that leaves most of a budget for later."""
    if voucher.strips_left is not None:
        return None, min(voucher.strips_left, dice.randint(1, 2))
    if voucher.kind == "cheque":
        return voucher.balance_cents, None
    euros = dice.choice((7.50, 12.50, 15.00, 19.95, 24.00, 35.00))
    return min(int(round(euros * 100)), voucher.balance_cents * 2 // 5 or voucher.balance_cents), None

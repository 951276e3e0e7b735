"""Many redemptions at once, for the usage benchmark and the screenshot.

``add_redemptions`` writes redemptions of a municipality's issued passes
straight into the tables with a few set-based ``INSERT … SELECT``
statements, bypassing the redemption service (which takes about a
millisecond per payment): a scratch plan table picks vouchers, merchants and
moments by arithmetic on ids, then the ledger postings and transfers (one
``redeem`` transfer per redemption, balanced, so the ledger triggers accept
them), the redemption rows and the balances follow from it. Deterministic:
the same passes give the same redemptions. No voids.

Moments come from a table of slots spread over the year with the peaks of
B16 §6.2: the start of the school year (August, September) and December.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from pasdienst import books
from pasdienst.clock import AMSTERDAM
from pasdienst.db import UTCDateTime
from pasdienst.ledger import Account, Posting, Transfer
from pasdienst.redeem.models import Redemption
from pasdienst.merchants.models import Merchant
from pasdienst.wallet.models import PUNCHCARD, ChildPass, Voucher

#: Relative number of payments per month, January first.
MONTH_WEIGHTS = (5, 5, 6, 6, 6, 5, 4, 13, 16, 8, 8, 15)
SLOTS = 997  # prime, so the slot pattern does not line up with voucher ids

_scratch = MetaData()
plan = Table(
    "synthetic_plan", _scratch,
    Column("rid", Integer, primary_key=True, autoincrement=False),
    Column("voucher_id", Integer), Column("pass_id", Integer), Column("merchant_id", Integer),
    Column("voucher_account", BigInteger), Column("merchant_account", BigInteger),
    Column("amount", BigInteger), Column("strips", Integer), Column("at", UTCDateTime()), Column("tid", Uuid),
)
slot = Table("synthetic_slot", _scratch, Column("k", Integer, primary_key=True, autoincrement=False), Column("at", UTCDateTime()))
seq = Table("synthetic_seq", _scratch, Column("n", Integer, primary_key=True, autoincrement=False))
delta = Table(
    "synthetic_delta", _scratch,
    Column("account_id", BigInteger, primary_key=True, autoincrement=False), Column("amount", BigInteger),
)
shop = Table(
    "synthetic_shop", _scratch,
    Column("category", String(32), primary_key=True), Column("k", Integer, primary_key=True, autoincrement=False),
    Column("merchant_id", Integer), Column("account_id", BigInteger),
)


@dataclass(frozen=True)
class Spread:
    """How the redemptions fall: shares in per cent, counts per voucher."""

    #: Children who use their pass at all.
    active_children_pct: int = 68
    #: Of their vouchers, the ones they spend from.
    used_vouchers_pct: int = 80
    #: Payments per used voucher: 1 to this many (at most 10: each takes a tenth or one strip).
    max_per_voucher: int = 10


def moments(year: int, count: int = SLOTS, seed: int = 2027) -> list[datetime]:
    """``count`` moments in ``year``, by MONTH_WEIGHTS, in shop hours (Amsterdam)."""
    rng = random.Random(seed)
    months = rng.choices(range(1, 13), weights=MONTH_WEIGHTS, k=count)
    out = []
    for month in months:
        first = datetime(year, month, 1, tzinfo=AMSTERDAM)
        days = ((first + timedelta(days=32)).replace(day=1) - first).days
        local = first.replace(day=rng.randint(1, days), hour=rng.randint(9, 19), minute=rng.randint(0, 59))
        out.append(local)
    return out


def add_redemptions(
    session: Session, municipality_code: str, municipality_id: int, year: int, *, limit: int, spread: Spread = Spread()
) -> int:
    """Add up to ``limit`` redemptions of the year's passes; returns how many."""
    if not 1 <= spread.max_per_voucher <= 10:
        raise ValueError("max_per_voucher is 1 to 10")
    bind = session.connection()
    _scratch.drop_all(bind)
    _scratch.create_all(bind)
    session.execute(insert(slot), [{"k": k, "at": at} for k, at in enumerate(moments(year))])
    session.execute(insert(seq), [{"n": n} for n in range(spread.max_per_voucher)])
    merchants = session.execute(
        select(Merchant.id, Merchant.account_id, Merchant.categories)
        .where(Merchant.municipality_id == municipality_id, Merchant.status == "approved")
        .order_by(Merchant.id)
    ).all()
    per_category: dict[str, list[tuple[int, int]]] = {}
    for mid, account_id, categories in merchants:
        for category in categories.split(","):
            per_category.setdefault(category, []).append((mid, account_id))
    rows = [
        {"category": c, "k": k, "merchant_id": mid, "account_id": aid}
        for c, found in per_category.items()
        for k, (mid, aid) in enumerate(found)
    ]
    if not rows:
        raise ValueError(f"{municipality_code} has no approved merchants")
    session.execute(insert(shop), rows)
    shops_of = (
        select(shop.c.category, func.count().label("n")).group_by(shop.c.category).subquery()
    )

    if session.get_bind().dialect.name == "postgresql":
        new_uuid = func.gen_random_uuid()
    else:  # how SQLAlchemy stores a Uuid on SQLite: 32 hex digits
        new_uuid = func.lower(func.hex(func.randomblob(16)))
    # One strip, or a tenth of the voucher; never more payments than the voucher holds.
    amount = case((Voucher.kind == PUNCHCARD, Voucher.strip_value_cents), else_=Voucher.initial_cents // 10)
    chosen = (
        select(
            (Voucher.id * 10 + seq.c.n).label("rid"),
            Voucher.id, Voucher.pass_id, shop.c.merchant_id, Voucher.account_id, shop.c.account_id,
            amount,
            case((Voucher.kind == PUNCHCARD, 1), else_=None),
            slot.c.at,
            new_uuid,
        )
        .select_from(Voucher)
        .join(ChildPass, ChildPass.id == Voucher.pass_id)
        .join(seq, seq.c.n < 1 + (Voucher.id * 13) % spread.max_per_voucher)
        .join(shops_of, shops_of.c.category == Voucher.category)
        .join(shop, (shop.c.category == Voucher.category) & (shop.c.k == (Voucher.id * 7 + seq.c.n) % shops_of.c.n))
        .join(slot, slot.c.k == (Voucher.id * 31 + seq.c.n * 17) % SLOTS)
        .where(
            ChildPass.municipality_id == municipality_id,
            ChildPass.year == year,
            Voucher.initial_cents >= 10,
            (seq.c.n + 1) * amount <= Voucher.initial_cents,
            (ChildPass.child_id * 37) % 100 < spread.active_children_pct,
            (Voucher.id * 11) % 100 < spread.used_vouchers_pct,
        )
        # A spread-out pick when there are more candidates than ``limit``.
        .order_by(((cast(Voucher.id, BigInteger) * 10 + seq.c.n) * 7919) % 1000003)
        .limit(limit)
    )
    session.execute(
        insert(plan).from_select(
            ["rid", "voucher_id", "pass_id", "merchant_id", "voucher_account", "merchant_account", "amount", "strips", "at", "tid"],
            chosen,
        )
    )
    count = session.execute(select(func.count()).select_from(plan)).scalar_one()
    moves = select(plan.c.voucher_account.label("account_id"), (-plan.c.amount).label("amount")).union_all(
        select(plan.c.merchant_account, plan.c.amount)
    ).subquery()
    postings = Posting.__table__
    session.execute(
        insert(postings).from_select(
            ["transfer_id", "account_id", "amount"],
            select(plan.c.tid, plan.c.voucher_account, -plan.c.amount).union_all(
                select(plan.c.tid, plan.c.merchant_account, plan.c.amount)
            ),
        )
    )
    session.execute(
        insert(Transfer.__table__).from_select(
            ["id", "ledger", "kind", "amount", "reference", "fingerprint", "created_at"],
            select(
                plan.c.tid, literal(municipality_code), literal(books.REDEEM), plan.c.amount,
                literal("synthetic"), literal("synthetic"), plan.c.at,
            ),
        )
    )
    session.execute(
        insert(Redemption.__table__).from_select(
            [
                "municipality_id", "merchant_id", "pass_id", "voucher_id", "amount_cents", "strips",
                "balance_after_cents", "receipt_no", "transfer_id", "idempotency_key", "request_hash", "created_at",
            ],
            select(
                literal(municipality_id), plan.c.merchant_id, plan.c.pass_id, plan.c.voucher_id, plan.c.amount,
                plan.c.strips, literal(0), literal("S") + cast(plan.c.rid, String),
                plan.c.tid, literal("synthetic-") + cast(plan.c.rid, String), literal("synthetic"), plan.c.at,
            ),
        )
    )
    # Net change per account first (keyed), then one keyed look-up per account.
    session.execute(
        insert(delta).from_select(
            ["account_id", "amount"],
            select(moves.c.account_id, func.sum(moves.c.amount)).group_by(moves.c.account_id),
        )
    )
    accounts = Account.__table__
    session.execute(
        update(accounts)
        # Merchant payables keep no balance: theirs is the sum of their postings.
        .where(accounts.c.id.in_(select(delta.c.account_id)), accounts.c.balance_cached.is_(True))
        .values(balance=accounts.c.balance + select(delta.c.amount).where(delta.c.account_id == accounts.c.id).scalar_subquery())
    )
    _scratch.drop_all(bind)
    return int(count)

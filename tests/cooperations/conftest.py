"""A cooperation of two villages, a third municipality outside it, merchants and staff.

``noord`` (the lead) and ``zuid`` form cooperation ``regio``; ``elders`` is
not in it. Each has one child with an issued pass (``N-1``, ``Z-1``,
``E-1``). ``Sportclub Noord`` (sport and culture) and ``Mode Zuid``
(clothing) are admitted to the cooperation; ``Boekhandel Noord`` (school) is
not. Each member has an admin and two finance users.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from pasdienst import books, ledger
from pasdienst.access.accounts import actor_for_email
from pasdienst.access.policy import Actor
from pasdienst.clock import AMSTERDAM
from pasdienst.config import Settings
from pasdienst.cooperations import services as coop
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import topup_budget
from pasdienst.redeem import redemptions
from pasdienst.merchants.models import Merchant
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import export_rows, import_children, issue_passes, load_scheme, resolve_pass
from tests.factories import MadeUser, make_merchant, make_municipality, make_user

TODAY = date(2027, 3, 15)
MEMBERS = ("noord", "zuid")
OUTSIDER = "elders"
CHILD = {"noord": "N-1", "zuid": "Z-1", "elders": "E-1"}
_keys = itertools.count(1)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment on ``day`` March 2027, Amsterdam time."""
    return datetime.combine(date(2027, 3, day), time(hour, minute), AMSTERDAM)


def issue(db: Database, settings: Settings, code: str) -> tuple[str, dict[tuple[str, str], int]]:
    """A municipality with one child's pass: (QR payload, {(kind, category): voucher id})."""
    make_municipality(db, code)
    children = f"child_ref;first_name;birth_date;income_pct\n{CHILD[code]};Kind {code};2015-05-01;110\n".encode()
    with db.transaction() as s:
        topup_budget(s, code, "10000.00", reference="test")
        load_scheme(s, sample_scheme(code, 2027))
        import_children(s, code, children, settings=settings, today=TODAY)
        issue_passes(s, code, 2027, settings=settings, today=TODAY)
    with db.read() as s:
        (row,) = export_rows(s, code, settings=settings, today=TODAY)
        pass_id = resolve_pass(s, row.url, settings=settings, today=TODAY).id
        vouchers = {(v.kind, v.category): v.id for v in s.execute(select(Voucher).where(Voucher.pass_id == pass_id)).scalars()}
    return row.url, vouchers


@dataclass
class Region:
    db: Database
    settings: Settings
    ids: dict[str, int]
    #: municipality code → (QR payload, vouchers)
    passes: dict[str, tuple[str, dict]]
    #: "sport" (noord, admitted), "boek" (noord, not admitted), "mode" (zuid, admitted), "elders" (elders)
    merchants: dict[str, int]
    admins: dict[str, MadeUser]
    finance: dict[str, tuple[MadeUser, MadeUser]]

    def till(self, merchant: str) -> Actor:
        with self.db.read() as s:
            municipality_id = s.get(Merchant, self.merchants[merchant]).municipality_id
        return Actor(None, f"kassa-{merchant}@example", "merchant", municipality_id, None, self.merchants[merchant])

    def redeem(self, merchant: str, child_of: str, cents: int, *, when: datetime | None = None,
               voucher: tuple[str, str] = ("budget", "sport_culture")) -> int:
        payload, vouchers = self.passes[child_of]
        when = when or at(10)
        with self.db.transaction() as s:
            result = redemptions.redeem(
                s, self.till(merchant), code=payload, voucher_id=vouchers[voucher], amount_cents=cents,
                idempotency_key=f"k{next(_keys)}", settings=self.settings, today=when.astimezone(AMSTERDAM).date(),
                now=when,
            )
        return result.id

    def actor(self, user: MadeUser) -> Actor:
        with self.db.read() as s:
            return actor_for_email(s, user.email)

    def balance(self, key: str) -> int:
        with self.db.read() as s:
            return ledger.balance(s, ledger.get_account(s, key).id)

    def voucher_balance(self, child_of: str, voucher: tuple[str, str] = ("budget", "sport_culture")) -> int:
        with self.db.read() as s:
            return ledger.balance(s, s.get(Voucher, self.passes[child_of][1][voucher]).account_id)

    def payable(self, merchant: str, member: str) -> int:
        return self.balance(books.merchant_key(member, self.merchants[merchant]))

    def partition_totals(self) -> dict[str, int]:
        """The sum of every partition's postings (each must be zero)."""
        with self.db.read() as s:
            return dict(
                s.execute(
                    select(ledger.Account.ledger, func.sum(ledger.Posting.amount))
                    .join(ledger.Posting, ledger.Posting.account_id == ledger.Account.id)
                    .group_by(ledger.Account.ledger)
                ).all()
            )

    def verify(self) -> list[str]:
        with self.db.read() as s:
            return [str(p) for p in verify(s).problems]


@pytest.fixture
def region_settings(settings: Settings) -> Settings:
    return replace(settings, today=TODAY)


def form_region(db: Database, settings: Settings, *, payout: str = "members") -> Region:
    passes = {code: issue(db, settings, code) for code in (*MEMBERS, OUTSIDER)}
    merchants = {
        "sport": make_merchant(db, "noord", name="Sportclub Noord", categories=("sport_culture",)),
        "boek": make_merchant(db, "noord", name="Boekhandel Noord", categories=("school", "sport_culture")),
        "mode": make_merchant(db, "zuid", name="Mode Zuid", categories=("clothing", "sport_culture")),
        "elders": make_merchant(db, OUTSIDER, name="Sport Elders", categories=("sport_culture",)),
    }
    admins = {code: make_user(db, "admin", municipality=code, email=f"beheer@{code}.example") for code in MEMBERS}
    finance = {
        code: tuple(make_user(db, "finance", municipality=code, email=f"fin{n}@{code}.example") for n in (1, 2))
        for code in MEMBERS
    }
    with db.transaction() as s:
        coop.create_cooperation(
            s, "regio", name="Kindpakket De Regio", lead="noord", payout=payout,
            iban="NL44RABO0123456789" if payout == "cooperation" else None,
        )
        coop.invite_member(s, "regio", "zuid")
    with db.transaction() as s:
        coop.join_cooperation(s, actor_for_email(s, admins["zuid"].email), "zuid")
    with db.transaction() as s:
        coop.admit_merchant(s, actor_for_email(s, admins["noord"].email), merchants["sport"])
        coop.admit_merchant(s, actor_for_email(s, admins["zuid"].email), merchants["mode"])
    with db.read() as s:
        ids = dict(s.execute(select(Municipality.code, Municipality.id)).all())
    return Region(db, settings, ids, passes, merchants, admins, finance)


@pytest.fixture
def region(db: Database, region_settings: Settings) -> Region:
    return form_region(db, region_settings)

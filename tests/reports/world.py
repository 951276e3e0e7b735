"""A small municipality whose usage report is worked out by hand (tests/reports/test_usage_figures.py).

Seven children hold a 2027 pass of ``testdorp`` (the scheme of
``tests/redeem/conftest.py``: from 4 years a sports budget of 150.00, a
school budget of 50.00 and a swimming punch card of 10 × 4.50; from 0 years
a clothing cheque of 75.00). Ages on 2027-01-01, the scheme's valid_from:

====  =====  ==========  ===  =======
ref   name   born        age  band
====  =====  ==========  ===  =======
T-1   Sanne  2024-06-01    2  0-3
T-2   Daan   2023-01-02    3  0-3     (turns 4 the day after)
T-3   Noor   2023-01-01    4  4-11    (turns 4 that very day)
T-4   Liam   2018-05-05    8  4-11    (loses his pass in September: reissued)
T-5   Emma   2015-01-02   11  4-11
T-6   Finn   2015-01-01   12  12-17
T-7   Saar   2010-03-03   16  12-17
====  =====  ==========  ===  =======

Redemptions (S = the sports club, M = "Mode & Zo"), times in UTC:

==  ====  =========================  ========  ============  =====================================
#   who   voucher                    amount    at            note
==  ====  =========================  ========  ============  =====================================
R1  T-1   cheque (clothing) at M       30.00   02-10 10:00
R2  T-3   sports budget at S          100.00   09-01 09:00
R3  T-3   swimming, 2 strips at S       9.00   09-15 14:00
R4  T-4   school budget at M           50.00   08-31 21:30   23:30 in Amsterdam: still August
R5  T-6   cheque at M                  75.00   09-30 22:30   00:30 on 1 October in Amsterdam
R6  T-7   sports budget at S           40.00   12-05 10:00   voided the same day: counts nowhere
R7  T-4   cheque at M, new pass        20.00   12-10 10:00   after the reissue (carried-over cheque)
==  ====  =========================  ========  ============  =====================================

Another municipality (``anderdorp``) has a child and a redemption of its own
that must never show up in ``testdorp``'s figures.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone


from pasdienst.clock import AMSTERDAM as _AMS
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.redeem import redemptions
from pasdienst.wallet.services import block_pass, close_year, reissue_pass
from tests.factories import World, issue_municipality, make_merchant, make_user

CODE = "testdorp"
OTHER = "anderdorp"
YEAR = 2027
ISSUE_DAY = date(2027, 1, 10)
SPORTS_CLUB = "Sportclub De Sprint"
CLOTHES_SHOP = "Mode & Zo"

CHILDREN = (
    "child_ref;first_name;birth_date;income_pct\n"
    "T-1;Sanne;2024-06-01;100\n"
    "T-2;Daan;2023-01-02;100\n"
    "T-3;Noor;2023-01-01;100\n"
    "T-4;Liam;2018-05-05;100\n"
    "T-5;Emma;2015-01-02;100\n"
    "T-6;Finn;2015-01-01;100\n"
    "T-7;Saar;2010-03-03;100\n"
).encode()


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=timezone.utc)


class UsageWorld(World):
    """The usage report's municipality: ``redeem_voucher`` pays, ``void`` takes a payment back at the till."""

    def void(self, redemption_id: int, merchant: str, at: datetime) -> None:
        with self.db.transaction() as s:
            redemptions.void(s, self.till(merchant), redemption_id, today=at.astimezone(_AMS).date(), now=at)

    def take_back_sannes_cheque(self) -> None:
        """R1 (Sanne's cheque in February) settled in March, then taken back
        by a settlement correction in December, when the shop has later
        payments waiting to take it back from."""
        from pasdienst.access.models import User
        from pasdienst.access.accounts import actor_for
        from pasdienst.redeem.models import Redemption
        from pasdienst.settlement import batches, corrections as settlement_corrections
        creator, approver = (make_user(self.db, "finance", municipality=CODE) for _ in range(2))
        moment = utc(3, 2, 9)
        with self.db.transaction() as s:
            batch = batches.create_batch(
                s, actor_for(s, s.get(User, creator.id)), CODE, until=date(YEAR, 3, 1), today=date(YEAR, 3, 2), now=moment
            )
        with self.db.transaction() as s:
            batches.approve_batch(s, actor_for(s, s.get(User, approver.id)), batch.id, now=moment)
        with self.db.transaction() as s:
            r1 = s.query(Redemption).filter(Redemption.amount_cents == 3000).one()
            settlement_corrections.correct_redemption(
                s, actor_for(s, s.get(User, approver.id)), r1.id, reason="dubbel afgerekend", now=utc(12, 20, 9)
            )

    def close_year(self) -> None:
        with self.db.transaction() as s:
            close_year(s, CODE, YEAR, today=date(YEAR + 1, 1, 2))


def _municipality_with_passes(db: Database, settings: Settings, code: str, children: bytes) -> int:
    return issue_municipality(db, settings, code, children, year=YEAR, today=ISSUE_DAY)


def build_world(db: Database, settings: Settings) -> UsageWorld:
    settings = replace(settings, today=None)
    municipality_id = _municipality_with_passes(db, settings, CODE, CHILDREN)
    merchants = {
        SPORTS_CLUB: make_merchant(db, CODE, name=SPORTS_CLUB, categories=("sport_culture",)),
        CLOTHES_SHOP: make_merchant(db, CODE, name=CLOTHES_SHOP, categories=("clothing", "school")),
    }
    world = UsageWorld(db, settings, municipality_id, merchants)
    world.redeem_voucher("T-1", CLOTHES_SHOP, "cheque", "clothing", utc(2, 10, 10), cents=3000, key="r1")
    world.redeem_voucher("T-3", SPORTS_CLUB, "budget", "sport_culture", utc(9, 1, 9), cents=10000, key="r2")
    world.redeem_voucher("T-3", SPORTS_CLUB, "punchcard", "sport_culture", utc(9, 15, 14), strips=2, key="r3")
    world.redeem_voucher("T-4", CLOTHES_SHOP, "budget", "school", utc(8, 31, 21, 30), cents=5000, key="r4")
    lost = world.current_pass("T-4")
    with db.transaction() as s:
        block_pass(s, str(lost.id), reason="kwijt, gemeld door ouder")
        reissue_pass(s, str(lost.id), settings=settings, today=date(YEAR, 9, 5))
    world.redeem_voucher("T-6", CLOTHES_SHOP, "cheque", "clothing", utc(9, 30, 22, 30), cents=7500, key="r5")
    r6 = world.redeem_voucher("T-7", SPORTS_CLUB, "budget", "sport_culture", utc(12, 5, 10), cents=4000, key="r6")
    world.void(r6, SPORTS_CLUB, utc(12, 5, 10) + timedelta(minutes=3))
    world.redeem_voucher("T-4", CLOTHES_SHOP, "cheque", "clothing", utc(12, 10, 10), cents=2000, key="r7")

    # Elsewhere: must not count in testdorp.
    _municipality_with_passes(db, settings, OTHER, b"child_ref;first_name;birth_date;income_pct\nA-1;Ava;2016-04-04;100\n")
    shop = make_merchant(db, OTHER, name="Sport Anderdorp", categories=("sport_culture",))
    other = UsageWorld(db, settings, 0, {"shop": shop})
    other.redeem_voucher("A-1", "shop", "budget", "sport_culture", utc(5, 1, 10), cents=1234, key="a1")
    return world


#: Shops of the busy world: (name, categories).
BUSY_MERCHANTS = (
    ("Sportclub De Sprint", ("sport_culture",)),
    ("Zwembad De Welle", ("sport_culture",)),
    ("Muziekschool Opmaat", ("sport_culture",)),
    ("Boekhandel Van der Meer", ("school",)),
    ("Bruna Centrum", ("school",)),
    ("Mode & Zo", ("clothing",)),
    ("Schoenen Post", ("clothing",)),
    ("Kinderkleding Lief", ("clothing",)),
)


def busy_children(n: int) -> bytes:
    """``n`` children aged 0 to 17 on 2027-01-01, spread evenly, all fully eligible."""
    lines = ["child_ref;first_name;birth_date;income_pct"]
    first = date(2009, 1, 2).toordinal()
    for i in range(n):
        born = date.fromordinal(first + (i * 6569 // n))  # 6569 days: 18 years
        lines.append(f"K-{i:04d};Kind;{born.isoformat()};100")
    return ("\n".join(lines) + "\n").encode()


def build_busy_world(db: Database, settings: Settings, *, children: int = 240, redemptions: int = 1500) -> int:
    """A municipality big enough that few cells are hidden (for the page and its screenshot);
    redemptions written in bulk (tests/reports/synthetic.py). Returns how many."""
    from .synthetic import add_redemptions

    settings = replace(settings, today=None)
    municipality_id = _municipality_with_passes(db, settings, CODE, busy_children(children))
    for name, categories in BUSY_MERCHANTS:
        make_merchant(db, CODE, name=name, categories=categories)
    with db.transaction() as s:
        return add_redemptions(s, CODE, municipality_id, YEAR, limit=redemptions)

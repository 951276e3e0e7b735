"""Families who did and did not use their pass, worked out by hand (tests/reminders, tests/reports).

Nine children of ``testdorp`` hold a 2027 pass (the sample scheme: every
child here is 4 to 17, so each pass starts with 150 + 50 + 45 + 75 = 320.00).

====  =====  =========  ==========================  =======  =================================
ref   name   household  e-mail                      postcode what happens
====  =====  =========  ==========================  =======  =================================
R-1   Sanne  H-1        ouders.jansen@example.nl    9251 AA  pays 10.00 on 10 February
R-2   Daan   H-1        ouders.jansen@example.nl    9251 AA  pays 20.00 on 1 October
R-3   Noor   H-2        Noor.Thuis@Example.nl       9251 AB  nothing
R-4   Liam   –          liam.mam@example.nl         8401 CD  nothing
R-5   Emma   –          LIAM.mam@example.nl         8401 CD  nothing (Liam's sister: same address)
R-6   Finn   H-3        –                           –        nothing
R-7   Saar   H-4        saar@example.nl             9000 ZZ  pays 75.00 on 5 September, then
                                                             loses the pass: reissued on 1 October
R-8   Bram   H-5        bram@example.nl             9251 AA  pays 5.00 on 1 March, voided at once
R-9   Mila   H-6        mila@example.nl             9251 AC  pass blocked in May, not replaced
====  =====  =========  ==========================  =======  =================================

``anderdorp`` has one child who never pays: it must never show up in
``testdorp``'s lists, e-mails or figures.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.redeem import redemptions
from pasdienst.wallet.services import block_pass, reissue_pass
from tests.factories import World, issue_municipality, make_merchant

CODE = "testdorp"
OTHER = "anderdorp"
YEAR = 2027
ISSUE_DAY = date(2027, 1, 10)
FULL = 32000  # cents on every pass at the start
SPORTS_CLUB = "Sportclub De Sprint"
CLOTHES_SHOP = "Mode & Zo"

CHILDREN = (
    "child_ref;first_name;birth_date;income_pct;household_ref;email;postcode\n"
    "R-1;Sanne;2015-05-01;100;H-1;ouders.jansen@example.nl;9251 AA\n"
    "R-2;Daan;2012-02-02;100;H-1;ouders.jansen@example.nl;9251 AA\n"
    "R-3;Noor;2016-03-03;100;H-2;Noor.Thuis@Example.nl;9251 AB\n"
    "R-4;Liam;2014-04-04;100;;liam.mam@example.nl;8401 CD\n"
    "R-5;Emma;2017-05-05;100;;LIAM.mam@example.nl;8401 CD\n"
    "R-6;Finn;2013-06-06;100;H-3;;\n"
    "R-7;Saar;2011-07-07;100;H-4;saar@example.nl;9000 ZZ\n"
    "R-8;Bram;2010-08-08;100;H-5;bram@example.nl;9251 AA\n"
    "R-9;Mila;2012-09-09;100;H-6;mila@example.nl;9251 AC\n"
).encode()


def utc(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=timezone.utc)


class Families(World):
    def child_id(self, child_ref: str) -> int:
        return self.current_pass(child_ref).child_id

    def redeem(self, child_ref: str, merchant: str, kind: str, category: str, at: datetime, cents: int, key: str) -> int:
        return self.redeem_voucher(child_ref, merchant, kind, category, at, cents=cents, key=key)


def _issue(db: Database, settings: Settings, code: str, children: bytes) -> int:
    return issue_municipality(db, settings, code, children, year=YEAR, today=ISSUE_DAY)


def build_families(db: Database, settings: Settings) -> Families:
    settings = replace(settings, today=None)
    municipality_id = _issue(db, settings, CODE, CHILDREN)
    merchants = {
        SPORTS_CLUB: make_merchant(db, CODE, name=SPORTS_CLUB, categories=("sport_culture",)),
        CLOTHES_SHOP: make_merchant(db, CODE, name=CLOTHES_SHOP, categories=("clothing", "school")),
    }
    families = Families(db, settings, municipality_id, merchants)
    families.redeem("R-1", SPORTS_CLUB, "budget", "sport_culture", utc(2, 10), 1000, "s1")
    voided = families.redeem("R-8", SPORTS_CLUB, "budget", "sport_culture", utc(3, 1), 500, "s2")
    with db.transaction() as s:
        redemptions.void(s, families.till(SPORTS_CLUB), voided, today=date(YEAR, 3, 1), now=utc(3, 1) + timedelta(minutes=2))
    with db.transaction() as s:
        block_pass(s, str(families.current_pass("R-9").id), reason="kwijt")
    families.redeem("R-7", CLOTHES_SHOP, "cheque", "clothing", utc(9, 5), 7500, "s3")
    with db.transaction() as s:
        lost = families.current_pass("R-7").id
        block_pass(s, str(lost), reason="kwijt")
        reissue_pass(s, str(lost), settings=settings, today=date(YEAR, 10, 1))
    families.redeem("R-2", CLOTHES_SHOP, "budget", "school", utc(10, 1), 2000, "s4")
    _issue(db, settings, OTHER, b"child_ref;first_name;birth_date;income_pct;email\nA-1;Ava;2016-04-04;100;ava@example.nl\n")
    return families

"""Building blocks for the wallet tests: a municipality, a scheme, children."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pasdienst import books, ledger
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.ledger import Posting, Transfer, verify
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.wallet.models import Child, ChildPass, Voucher
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import import_children, issue_passes, load_scheme

CODE = "opsterland"
YEAR = 2027
TODAY = date(2027, 1, 15)  # inside the 2027 scheme

#: One budget, and a cheque of an odd amount so that half of it has to be rounded.
SCHEME = sample_scheme(CODE, YEAR, budgets={"sport_culture": "150.00"}, cheque="75.01")

HEADER = "child_ref;first_name;birth_date;household_ref;income_pct;override_reason;bsn;email;postcode"

# BSNs that pass the elfproef (from the shared sample file; they belong to no one).
BSNS = ("110017675", "930799720", "743364727", "720448736", "508960216", "371903774", "308370879", "835149778")


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


#: Two children who get everything (ages 9 and 12 on 1 January 2027), one on
#: the sliding scale, one by a case worker's override, one earning too much,
#: one too old.
CHILDREN = csv_of(
    "K-1;Nora;2017-06-01;H1;100;;;;",
    "K-2;Omar;2014-03-20;H1;120%;;;;",
    "K-3;Elif;2012-11-02;H2;125;;;;",
    "K-4;Stijn;2016-01-01;H3;160;keukentafelgesprek gebiedsteam;;;",
    "K-5;Fenna;2015-05-05;H4;131;;;;",
    "K-6;Cas;2008-12-31;H5;100;;;;",
)

#: Full entitlement: 150.00 + 10 × 4.50 + 75.01.
FULL_CENTS = 15000 + 4500 + 7501
#: Half: 75.00 + 5 strips (22.50) + 37.50 (half of 75.01, rounded down).
HALF_CENTS = 7500 + 2250 + 3750
#: What issuing CHILDREN costs: K-1, K-2 and K-4 (override) in full, K-3 half.
EXPECTED = 3 * FULL_CENTS + HALF_CENTS


def municipality(session: Session, *, fund: str = "10000.00", code: str = CODE) -> None:
    add_municipality(session, code, name=f"Gemeente {code.title()}")
    if fund:
        topup_budget(session, code, fund, reference="raadsbesluit")


def prepared(db: Database, settings: Settings, *, fund: str = "10000.00", children: bytes = CHILDREN) -> None:
    """A municipality with a fund, the scheme and the children imported."""
    with db.transaction() as s:
        municipality(s, fund=fund)
        load_scheme(s, SCHEME)
        import_children(s, CODE, children, settings=settings, today=TODAY)


def issued(db: Database, settings: Settings, **kwargs: object) -> list[int]:
    prepared(db, settings, **kwargs)
    with db.transaction() as s:
        return issue_passes(s, CODE, YEAR, settings=settings, today=TODAY).pass_ids


def pass_of(session: Session, child_ref: str) -> ChildPass:
    return session.execute(
        select(ChildPass)
        .join(Child, Child.id == ChildPass.child_id)
        .where(Child.child_ref == child_ref)
        .order_by(ChildPass.generation.desc())
    ).scalars().first()


def balances(session: Session, child_pass: ChildPass) -> dict[str, int]:
    vouchers = session.execute(select(Voucher).where(Voucher.pass_id == child_pass.id)).scalars()
    return {(v.code or v.category): ledger.balance(session, v.account_id) for v in vouchers}


def counts(session: Session) -> dict[str, int]:
    """Rows in the tables a wallet operation writes."""
    return {
        "children": session.execute(select(func.count()).select_from(Child)).scalar_one(),
        "passes": session.execute(select(func.count()).select_from(ChildPass)).scalar_one(),
        "vouchers": session.execute(select(func.count()).select_from(Voucher)).scalar_one(),
        "transfers": session.execute(select(func.count()).select_from(Transfer)).scalar_one(),
        "postings": session.execute(select(func.count()).select_from(Posting)).scalar_one(),
    }


def verified(db: Database) -> None:
    with db.read() as s:
        report = verify(s)
    assert report.ok, [str(p) for p in report.problems]


def spend(db, child_ref: str, what: str, cents: int) -> None:
    """Take money off a voucher the way a redemption would (into a test shop)."""
    with db.transaction() as s:
        voucher = s.execute(
            select(Voucher).where(
                Voucher.pass_id == pass_of(s, child_ref).id, (Voucher.code == what) | (Voucher.category == what)
            )
        ).scalars().first()
        shop = ledger.open_account(s, key=books.merchant_key(CODE, 1), kind=books.MERCHANT_PAYABLE, ledger=CODE)
        ledger.transfer(s, kind=books.REDEEM, source=voucher.account_id, destination=shop, amount=cents)

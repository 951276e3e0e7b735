"""Demo merchants and logins for ``demodorp`` (a step of ``pasdienst.demo``).

The passwords are fixed so that ``./scripts/serve`` can print them: this data
set is for a local demo only and must never be loaded in production.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from schwifty import IBAN
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..municipalities.services import get_municipality
from ..merchants.records import add_merchant
from ..merchants.models import Merchant
from .models import User
from .accounts import create_user
from .passwords import hash_password

DEMO_MUNICIPALITY = "demodorp"

#: name, category, bank, account number, login, password
DEMO_MERCHANTS = (
    ("Sportvereniging De Sprint", "sport_culture", "RABO", "0300104567", "sprint@demo.example", "demo-winkel-1"),
    ("Boekhandel Het Leesteken", "school", "INGB", "0006532111", "leesteken@demo.example", "demo-winkel-2"),
    ("Fietsenmaker Van Dam", "transport", "ABNA", "0417164301", "vandam@demo.example", "demo-winkel-3"),
    ("Kledingwinkel Mode & Zo", "clothing", "SNSB", "0912345678", "modenzo@demo.example", "demo-winkel-4"),
    ("Computerwinkel Byte", "digital", "TRIO", "0198765432", "byte@demo.example", "demo-winkel-5"),
)

#: login, role, password
DEMO_STAFF = (
    ("beheer@demodorp.example", "admin", "demo-beheer-1"),
    # A new admin or finance account, a new password for one and a merchant's
    # approval need a second admin too (/admin/verzoeken).
    ("beheer2@demodorp.example", "admin", "demo-beheer-2"),
    ("financien@demodorp.example", "finance", "demo-financien-1"),
    # Settlement needs a second pair of eyes: another finance user approves.
    ("financien2@demodorp.example", "finance", "demo-financien-2"),
    ("consulent@demodorp.example", "caseworker", "demo-consulent-1"),
)


class Report(Protocol):
    def add(self, line: str) -> None: ...


@lru_cache(maxsize=None)
def _hash(password: str) -> str:
    # The demo is loaded again and again by tests; one argon2 hash per password is enough.
    return hash_password(password)


def demo_user(
    session: Session, email: str, password: str, *, role: str, merchant_id: int | None = None,
    municipality_code: str = DEMO_MUNICIPALITY,
) -> None:
    """A login with a fixed password, unless it is there (other demo steps add their municipality's too)."""
    if session.execute(select(User.id).where(User.email == email)).scalar() is not None:
        return
    create_user(
        session, email, role=role,
        municipality_code=None if role == "merchant" else municipality_code,
        merchant_id=merchant_id, password=password, password_hash=_hash(password), must_change_password=False,
    )


def load_access_demo(session: Session, report: Report) -> None:
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    report.add("demo logins at /login (fixed passwords: for a local demo only, never in production):")
    for email, role, password in DEMO_STAFF:
        demo_user(session, email, password, role=role)
        report.add(f"  {role:<10} {email} / {password}")
    for name, category, bank, account, email, password in DEMO_MERCHANTS:
        merchant = session.execute(
            select(Merchant).where(Merchant.municipality_id == municipality.id, Merchant.name == name)
        ).scalar_one_or_none()
        if merchant is None:
            iban = IBAN.generate("NL", bank_code=bank, account_code=account).compact
            merchant = add_merchant(session, DEMO_MUNICIPALITY, name=name, categories=[category], iban=iban)
        demo_user(session, email, password, role="merchant", merchant_id=merchant.id)
        report.add(f"  merchant   {email} / {password}  ({merchant.name}, {category}, merchant {merchant.id})")

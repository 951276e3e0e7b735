"""A cooperation in the demo (a step of ``pasdienst.demo``, after the settled month).

``demodorp`` leads *Kindpakket Demodorp en Buurdorp* with its neighbour
``buurdorp`` (a scheme, four children in three households with a parent's
address, their passes, an admin and a finance login). Demodorp's admin
admits its sports club, Sportvereniging De Sprint, which then takes the
passes of both. One child of Buurdorp has already paid there: the payment
is Buurdorp's (its fund pays, its usage report counts it), at Demodorp's
club, on the books of Buurdorp (the club's payable in Buurdorp's partition).
Each member pays its merchants itself (``payout members``).

Idempotent: what is there is not added again.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.demo import DEMO_MERCHANTS, DEMO_STAFF, demo_user
from ..access.accounts import actor_for_email
from ..clock import AMSTERDAM
from ..clock import now as clock_now
from ..config import Settings
from ..municipalities.models import Municipality
from ..municipalities.services import add_municipality, get_municipality, topup_budget
from ..money import format_euros
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..redeem.redemptions import redeem, scan
from ..wallet import tokens
from ..wallet.demo import render_missing_qr
from ..wallet.models import ACTIVE, Child, ChildPass, Scheme
from ..wallet.sample import sample_scheme
from ..wallet.services import import_children, issue_passes, load_scheme
from .models import Cooperation
from .services import admit_merchant, create_cooperation, invite_member, join_cooperation

LEAD = "demodorp"
NEIGHBOUR = "buurdorp"
CODE = "demoregio"
NAME = "Kindpakket Demodorp en Buurdorp"
NEIGHBOUR_IBAN = "NL44RABO0123456789"
#: The lead's club that both villages' children may use.
SHARED = DEMO_MERCHANTS[0]
#: Buurdorp's children: Sem pays at the shared club; the others have not used their pass yet (the reminder writes to them).
CHILDREN = (
    "child_ref;first_name;birth_date;household_ref;income_pct;email;postcode\n"
    "BD-0001;Sem;2014-06-12;BD-HH1;110;ouders.sem@buurdorp.example;9255 AB\n"
    "BD-0002;Lotte;2016-02-03;BD-HH2;100;fam.devries@buurdorp.example;9255 AC\n"
    "BD-0003;Finn;2019-09-21;BD-HH2;100;fam.devries@buurdorp.example;9255 AC\n"
    "BD-0004;Yara;2012-11-30;BD-HH3;120;yara.thuis@buurdorp.example;9256 BA\n"
)
#: login, role, password (fixed: a local demo only)
NEIGHBOUR_STAFF = (
    ("beheer@buurdorp.example", "admin", "demo-buurdorp-1"),
    ("financien@buurdorp.example", "finance", "demo-buurdorp-2"),
)
PAID_CENTS = 2500


class Report(Protocol):
    def add(self, line: str) -> None: ...


def _neighbour(session: Session, settings: Settings, today: date) -> None:
    if session.execute(select(Municipality.id).where(Municipality.code == NEIGHBOUR)).scalar() is None:
        add_municipality(session, NEIGHBOUR, name="Gemeente Buurdorp", iban=NEIGHBOUR_IBAN)
        topup_budget(session, NEIGHBOUR, "5000.00", reference="Demo: rijksbijdrage kindpakket",
                     idempotency_key="demo:buurdorp:topup:1")
    municipality = get_municipality(session, NEIGHBOUR)
    if session.execute(
        select(Scheme.id).where(Scheme.municipality_id == municipality.id, Scheme.year == today.year)
    ).scalar() is None:
        load_scheme(session, sample_scheme(NEIGHBOUR, today.year))
    import_children(session, NEIGHBOUR, CHILDREN.encode(), settings=settings, today=today, file_name="buurdorp.csv")
    issue_passes(session, NEIGHBOUR, today.year, settings=settings, today=today)
    render_missing_qr(session, municipality.id, settings)
    for email, role, password in NEIGHBOUR_STAFF:
        demo_user(session, email, password, role=role, municipality_code=NEIGHBOUR)


def _formed(session: Session) -> None:
    if session.execute(select(Cooperation.id).where(Cooperation.code == CODE)).scalar() is not None:
        return
    create_cooperation(session, CODE, name=NAME, lead=LEAD)
    invite_member(session, CODE, NEIGHBOUR)
    join_cooperation(session, actor_for_email(session, NEIGHBOUR_STAFF[0][0]), NEIGHBOUR)
    shared = session.execute(select(Merchant.id).where(Merchant.name == SHARED[0])).scalar_one()
    admit_merchant(session, actor_for_email(session, DEMO_STAFF[0][0]), shared)


def _paid_across(session: Session, settings: Settings, today: date) -> None:
    """Sem of Buurdorp pays at Demodorp's club, yesterday afternoon (today, on the scheme's first day)."""
    neighbour = get_municipality(session, NEIGHBOUR)
    if session.execute(
        select(func.count()).select_from(Redemption).where(Redemption.municipality_id == neighbour.id)
    ).scalar_one():
        return
    child_pass = session.execute(
        select(ChildPass).join(Child, Child.id == ChildPass.child_id)
        .where(Child.child_ref == "BD-0001", ChildPass.municipality_id == neighbour.id, ChildPass.status == ACTIVE)
    ).scalar_one()
    day = max(today - timedelta(days=1), child_pass.valid_from)
    at = min(datetime.combine(day, time(15, 30), AMSTERDAM), clock_now(today))
    till = actor_for_email(session, SHARED[4])
    payload = tokens.payload_for(settings, child_pass.handle)
    voucher = next(v for v in scan(session, till, payload, settings=settings, today=day).vouchers if v.balance_cents >= PAID_CENTS)
    redeem(session, till, code=payload, voucher_id=voucher.id, amount_cents=PAID_CENTS, idempotency_key="demo:buurdorp:sprint:1",
           settings=settings, today=day, now=at)


def load_cooperation_demo(session: Session, report: Report, settings: Settings, today: date) -> None:
    _neighbour(session, settings, today)
    _formed(session)
    _paid_across(session, settings, today)
    report.add(
        f"cooperation {CODE} ({NAME}): {LEAD} leads, {NEIGHBOUR} (Gemeente Buurdorp) is a member; {SHARED[0]} of "
        f"{LEAD} takes both villages' passes, and a child of {NEIGHBOUR} paid {format_euros(PAID_CENTS)} there "
        f"(paid from {NEIGHBOUR}'s fund, settled by {NEIGHBOUR}): /admin/samenwerking, /finance/samenwerking"
    )
    for email, role, password in NEIGHBOUR_STAFF:
        report.add(f"  {role:<10} {email} / {password}  ({NEIGHBOUR})")

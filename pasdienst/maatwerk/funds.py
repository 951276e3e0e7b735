"""Funds (intermediary organisations such as Jeugdfonds Sport & Cultuur or Stichting Leergeld).

A fund's money is its own: an account in the municipality's ledger partition
(``books.fund_org_key``), topped up only by a ``fund_topup`` transfer from
the fund's own source account whose reference says where the money came
from; its awards (``services.award_by_fund``) leave from there and a
withdrawal returns there, so the municipality's fund and the fund's money
never mix. Its users are logins of role ``fund`` linked to it here.

Like every service: the caller's session and the acting user; flush, never
commit; role and municipality checked here; an audit event per change.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.models import User
from ..access.accounts import create_user
from ..access.audit import record_audit
from ..access.policy import Actor
from ..clock import now_utc
from ..db import allocate_ids
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from .models import Fund, FundMember
from .services import ADMIN, FUND, cents_of, clean_name, municipality_of

MAX_REFERENCE = 200


def _own_fund(session: Session, municipality: Municipality, fund_id: int) -> Fund:
    fund = session.get(Fund, fund_id) if isinstance(fund_id, int) else None
    if fund is None or fund.municipality_id != municipality.id:
        raise NotFound(f"no fund {fund_id}", refusal="maatwerk_fund_not_found")
    return fund


def create_fund(session: Session, actor: Actor, name: str) -> Fund:
    """A fund of the admin's municipality with its two accounts, empty (audit ``fund.create``)."""
    municipality = municipality_of(session, actor, ADMIN)
    cleaned = clean_name(name, "fund")
    if session.execute(
        select(Fund.id).where(Fund.municipality_id == municipality.id, Fund.name == cleaned)
    ).scalar() is not None:
        raise Conflict(f"there already is a fund {cleaned!r}", refusal="maatwerk_fund_exists", name=cleaned)
    # The accounts are named after the fund's id, so the id comes first.
    (fund_id,) = allocate_ids(session, Fund.__table__, 1)
    account_id = ledger.open_account(
        session, key=books.fund_org_key(municipality.code, fund_id), kind=books.FUND_ORG, ledger=municipality.code,
    )
    source_id = ledger.open_account(
        session, key=books.fund_org_source_key(municipality.code, fund_id), kind=books.FUND_ORG_SOURCE,
        ledger=municipality.code, non_negative=False,
    )
    fund = Fund(id=fund_id, municipality_id=municipality.id, name=cleaned, account_id=account_id,
                source_account_id=source_id, created_at=now_utc())
    session.add(fund)
    session.flush()
    record_audit(session, actor, "fund.create", "fund", fund.id, after={"name": cleaned})
    return fund


def topup_fund(
    session: Session, actor: Actor, fund_id: int, amount: str | int, *, reference: str,
    idempotency_key: str | None = None,
) -> ledger.Posted:
    """Money the fund brought in, onto its account (``fund_topup``); ``reference`` says where it came from.

    The municipality's admin records it (the fund transferred it to the
    municipality's bank account); the form's one-off key makes a resubmitted
    form top up once (audit ``fund.topup``).
    """
    municipality = municipality_of(session, actor, ADMIN)
    fund = _own_fund(session, municipality, fund_id)
    cents = cents_of(amount, refusal="maatwerk_amount_invalid")
    text = " ".join(str(reference or "").split())
    if not text:
        raise ValidationFailed("a fund's top-up needs a reference", refusal="maatwerk_reference_missing")
    if len(text) > MAX_REFERENCE:
        raise ValidationFailed(f"a reference has at most {MAX_REFERENCE} characters",
                               refusal="maatwerk_reference_too_long", limit=MAX_REFERENCE)
    key = f"fund_topup:{municipality.code}:{fund.id}:{idempotency_key}"[:200] if idempotency_key else None
    posted = ledger.transfer(
        session, kind=books.FUND_TOPUP, source=fund.source_account_id, destination=fund.account_id, amount=cents,
        reference=f"{fund.name}: {text}"[:MAX_REFERENCE], idempotency_key=key,
    )
    if not posted.replayed:
        record_audit(session, actor, "fund.topup", "fund", fund.id,
                     after={"name": fund.name, "amount_cents": cents, "reference": text})
    return posted


def add_fund_user(session: Session, actor: Actor, fund_id: int, email: str) -> tuple[User, str]:
    """A login of role ``fund`` for the fund, with a one-time password (audits ``user.create`` and ``fund.member_add``).

    Like a case worker's login it works at once: a fund's user can award
    only the fund's own money.
    """
    municipality = municipality_of(session, actor, ADMIN)
    fund = _own_fund(session, municipality, fund_id)
    try:
        user, password = create_user(session, email, role=FUND, municipality_code=municipality.code, actor=actor)
    except Conflict:
        raise Conflict(f"a user {email} already exists", refusal="maatwerk_user_exists",
                       email=" ".join(str(email or "").split()).lower()[:254]) from None
    except ValidationFailed:
        raise ValidationFailed(f"{str(email)[:254]!r} is not an e-mail address", refusal="maatwerk_email_invalid") from None
    session.add(FundMember(user_id=user.id, fund_id=fund.id, added_at=now_utc()))
    session.flush()
    record_audit(session, actor, "fund.member_add", "fund", fund.id, after={"name": fund.name, "email": user.email})
    return user, password


def funds_of(session: Session, actor: Actor) -> list[Fund]:
    municipality = municipality_of(session, actor, ADMIN)
    return list(session.execute(
        select(Fund).where(Fund.municipality_id == municipality.id).order_by(Fund.name)
    ).scalars())


def fund_users(session: Session, fund_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for fund_id, email in session.execute(
        select(FundMember.fund_id, User.email).join(User, User.id == FundMember.user_id)
        .where(FundMember.fund_id.in_(fund_ids)).order_by(User.email)
    ):
        found.setdefault(fund_id, []).append(email)
    return found


def fund_for_page(session: Session, actor: Actor) -> Fund:
    """The fund of the acting fund user; ``NotFound`` while no admin has linked one."""
    municipality = municipality_of(session, actor, FUND)
    fund = session.execute(
        select(Fund).join(FundMember, FundMember.fund_id == Fund.id).where(FundMember.user_id == actor.user_id)
    ).scalar_one_or_none()
    if fund is None or fund.municipality_id != municipality.id:
        raise NotFound(f"{actor.email} acts for no fund", refusal="maatwerk_no_fund")
    return fund

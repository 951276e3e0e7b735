"""Forming a cooperation, members joining and leaving, merchants admitted.

Who decides what (docs/SECURITY.md, "Cooperations"): roles stay per
municipality; nobody gets a role over another municipality.

* The **operator** (the command line) forms a cooperation at the request of
  its lead municipality (penvoerder), which is its first member, invites
  the other municipalities, and sets who pays the merchants (``payout``).
* A member's own **admin** agrees to join (an invitation changes nothing
  until then: from that moment merchants admitted by other members take
  its children's passes, paid from its fund), admits its own merchants
  (which then take every member's passes) and withdraws them.
* Each member's **finance** users settle its own redemptions, wherever they
  were made; the lead's finance users make the cooperation's payment runs
  when the cooperation pays (``runs``).

Joining and admitting open the merchant's payables in the members' ledger
partitions and write the ``CooperationPayable`` rows the till reads; leaving
and withdrawing delete those rows (the accounts stay, with what is owed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..banking import normalise_iban
from ..clock import now_utc
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..merchants.models import Merchant
from .models import (
    ACTIVE,
    INVITED,
    PAYOUT_COOPERATION,
    PAYOUTS,
    Cooperation,
    CooperationMember,
    CooperationMerchant,
    CooperationPayable,
)

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def _snapshot(cooperation: Cooperation) -> dict[str, object]:
    return {
        "code": cooperation.code, "name": cooperation.name, "payout": cooperation.payout,
        "iban": cooperation.iban, "bic": cooperation.bic,
    }


def get_cooperation(session: Session, code: str) -> Cooperation:
    found = session.execute(
        select(Cooperation).where(Cooperation.code == (code or "").strip().lower())
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no cooperation {code!r}")
    return found


def membership(session: Session, municipality_id: int) -> tuple[Cooperation, CooperationMember] | None:
    """The municipality's cooperation and its membership (invited or active), if any."""
    row = session.execute(
        select(Cooperation, CooperationMember)
        .join(CooperationMember, CooperationMember.cooperation_id == Cooperation.id)
        .where(CooperationMember.municipality_id == municipality_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def active_members(session: Session, cooperation_id: int) -> list[Municipality]:
    """The cooperation's active members, by code."""
    return list(
        session.execute(
            select(Municipality)
            .join(CooperationMember, CooperationMember.municipality_id == Municipality.id)
            .where(CooperationMember.cooperation_id == cooperation_id, CooperationMember.status == ACTIVE)
            .order_by(Municipality.code)
        ).scalars()
    )


def paying_cooperation(session: Session, municipality_id: int) -> Cooperation | None:
    """The cooperation that pays this municipality's merchants from its own
    account (an active member of one whose ``payout`` is ``cooperation``)."""
    found = membership(session, municipality_id)
    if found is None or found[1].status != ACTIVE or found[0].payout != PAYOUT_COOPERATION:
        return None
    return found[0]


def _bank_account(iban: str | None, bic: str | None) -> tuple[str | None, str | None]:
    if bic and not iban:
        raise ValidationFailed("--bic needs --iban")
    if not (iban or "").strip():
        return None, None
    account = normalise_iban(iban or "", bic)
    return account.iban, account.bic


def _check_payout(payout: str, iban: str | None) -> None:
    if payout not in PAYOUTS:
        raise ValidationFailed(f"payout must be one of {', '.join(PAYOUTS)}, not {payout!r}")
    if payout == PAYOUT_COOPERATION and not iban:
        raise ValidationFailed("a cooperation that pays the merchants itself needs the IBAN it pays from (--iban)")


def create_cooperation(
    session: Session, code: str, *, name: str, lead: str, payout: str = "members",
    iban: str | None = None, bic: str | None = None, now: datetime | None = None,
) -> Cooperation:
    """Form a cooperation (the operator, at the request of its lead).

    The lead municipality is its first active member; it may not be in
    another cooperation. Opens the cooperation's own ledger partition
    (``sv.<code>``: clearing and bank, used when it pays the merchants).
    """
    code = (code or "").strip().lower()
    if not _CODE.match(code):
        raise ValidationFailed(
            f"cooperation code {code!r} must be 2-40 lowercase letters, digits or hyphens, starting with a letter"
        )
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValidationFailed("a cooperation needs a name of at most 200 characters")
    account = _bank_account(iban, bic)
    _check_payout(payout, account[0])
    if session.execute(select(Cooperation.id).where(Cooperation.code == code)).scalar() is not None:
        raise Conflict(f"cooperation {code!r} already exists")
    municipality = get_municipality(session, lead)
    _not_elsewhere(session, municipality)
    now = now or now_utc()
    cooperation = Cooperation(
        code=code, name=name, lead_municipality_id=municipality.id, payout=payout, iban=account[0], bic=account[1],
        created_at=now,
    )
    session.add(cooperation)
    session.flush()
    for key_of, kind, non_negative in books.COOPERATION_ACCOUNTS:
        ledger.open_account(
            session, key=key_of(code), kind=kind, ledger=books.cooperation_ledger(code), non_negative=non_negative
        )
    member = CooperationMember(
        cooperation_id=cooperation.id, municipality_id=municipality.id, status=INVITED, invited_at=now,
    )
    session.add(member)
    session.flush()
    _activate(session, cooperation, member, municipality, None, now)
    record_audit(
        session, None, "cooperation.create", "cooperation", cooperation.code,
        after={**_snapshot(cooperation), "lead": municipality.code}, municipality_id=municipality.id,
    )
    return cooperation


def _not_elsewhere(session: Session, municipality: Municipality) -> None:
    found = membership(session, municipality.id)
    if found is not None:
        raise Conflict(
            f"{municipality.code} is already {'a member' if found[1].status == ACTIVE else 'invited'} "
            f"of cooperation {found[0].code}; a municipality is in one cooperation at a time",
            refusal="cooperation_member_elsewhere", municipality=municipality.name,
        )


def invite_member(
    session: Session, code: str, municipality_code: str, *, actor: Actor | None = None, now: datetime | None = None
) -> CooperationMember:
    """The operator (``actor`` None) or an admin of the lead invites a
    municipality; its own admin then agrees (``join``)."""
    cooperation = get_cooperation(session, code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, cooperation.lead_municipality_id)
    municipality = get_municipality(session, municipality_code)
    found = membership(session, municipality.id)
    if found is not None and found[0].id == cooperation.id:
        return found[1]
    _not_elsewhere(session, municipality)
    member = CooperationMember(
        cooperation_id=cooperation.id, municipality_id=municipality.id, status=INVITED, invited_at=now or now_utc(),
    )
    session.add(member)
    session.flush()
    for audited in {municipality.id, cooperation.lead_municipality_id}:  # in the log of both
        record_audit(
            session, actor, "cooperation.invite", "cooperation", cooperation.code,
            after={"municipality": municipality.code, "status": INVITED}, municipality_id=audited,
        )
    return member


@dataclass(frozen=True)
class Joined:
    member: CooperationMember
    #: False when it was a member already (a harmless re-run).
    changed: bool


def join_cooperation(
    session: Session, actor: Actor | None, municipality_code: str, *, now: datetime | None = None
) -> Joined:
    """The member's admin agrees to the invitation (``actor`` None: the command line).

    From now on the cooperation's merchants take this municipality's passes
    (paid from its fund) and its own admitted merchants take theirs.
    """
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    found = membership(session, municipality.id)
    if found is None:
        raise NotFound(f"{municipality.code} is not invited to a cooperation")
    cooperation, member = found
    if member.status == ACTIVE:
        return Joined(member, False)
    _activate(session, cooperation, member, municipality, actor, now or now_utc())
    record_audit(
        session, actor, "cooperation.join", "cooperation", cooperation.code,
        before={"status": INVITED}, after={"status": ACTIVE, "municipality": municipality.code},
        municipality_id=municipality.id,
    )
    return Joined(member, True)


def _activate(
    session: Session, cooperation: Cooperation, member: CooperationMember, municipality: Municipality,
    actor: Actor | None, now: datetime,
) -> None:
    member.status = ACTIVE
    member.joined_at = now
    member.joined_by_user_id = actor.user_id if actor is not None else None
    session.flush()
    # The cooperation's merchants (of the other members) take this member's
    # passes; this member has no admitted merchants yet.
    for merchant in admitted_merchants(session, cooperation.id):
        if merchant.municipality_id != municipality.id:
            _open_payable(session, cooperation, merchant, municipality)


def _open_payable(session: Session, cooperation: Cooperation, merchant: Merchant, member: Municipality) -> None:
    """The merchant's payable in ``member``'s partition, and the row that lets the till credit it."""
    account_id = ledger.open_account(
        session, key=books.merchant_key(member.code, merchant.id), kind=books.MERCHANT_PAYABLE, ledger=member.code,
        non_negative=False, balance_cached=False,
    )
    exists = session.get(CooperationPayable, (merchant.id, member.id))
    if exists is None:
        session.add(
            CooperationPayable(
                merchant_id=merchant.id, municipality_id=member.id, cooperation_id=cooperation.id, account_id=account_id,
            )
        )
        session.flush()


def admitted_merchants(session: Session, cooperation_id: int) -> list[Merchant]:
    return list(
        session.execute(
            select(Merchant)
            .join(CooperationMerchant, CooperationMerchant.merchant_id == Merchant.id)
            .where(CooperationMerchant.cooperation_id == cooperation_id)
            .order_by(Merchant.name, Merchant.id)
        ).scalars()
    )


def _merchant(session: Session, actor: Actor | None, merchant_id: int) -> tuple[Merchant, Municipality]:
    merchant = session.get(Merchant, merchant_id) if isinstance(merchant_id, int) else None
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id!r}", refusal="merchant_not_found")
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, merchant.municipality_id)
    municipality = session.get(Municipality, merchant.municipality_id)
    assert municipality is not None
    return merchant, municipality


@dataclass(frozen=True)
class Admission:
    cooperation: Cooperation
    merchant: Merchant
    #: False when nothing changed (admitted twice, withdrawn when not admitted).
    changed: bool
    #: Codes of the members whose passes the merchant takes besides its own.
    members: tuple[str, ...]


def admit_merchant(session: Session, actor: Actor | None, merchant_id: int, *, now: datetime | None = None) -> Admission:
    """The merchant's own admin admits it to its municipality's cooperation:
    it takes the passes of every active member from now on, each member's
    children paid from that member's fund."""
    merchant, home = _merchant(session, actor, merchant_id)
    found = membership(session, home.id)
    if found is None or found[1].status != ACTIVE:
        raise ValidationFailed(
            f"{home.code} is not a member of a cooperation, so {merchant.name} cannot be admitted to one",
            refusal="cooperation_not_member", merchant=merchant.name,
        )
    cooperation = found[0]
    others = [m for m in active_members(session, cooperation.id) if m.id != home.id]
    if session.get(CooperationMerchant, merchant.id) is not None:
        return Admission(cooperation, merchant, False, tuple(m.code for m in others))
    session.add(
        CooperationMerchant(
            merchant_id=merchant.id, cooperation_id=cooperation.id, admitted_at=now or now_utc(),
            admitted_by_user_id=actor.user_id if actor is not None else None,
        )
    )
    session.flush()
    for member in others:
        _open_payable(session, cooperation, merchant, member)
    record_audit(
        session, actor, "cooperation.merchant_admit", "merchant", merchant.id,
        after={"cooperation": cooperation.code, "merchant": merchant.name, "members": [m.code for m in others]},
        municipality_id=home.id,
    )
    return Admission(cooperation, merchant, True, tuple(m.code for m in others))


def withdraw_merchant(session: Session, actor: Actor | None, merchant_id: int) -> Admission:
    """Undo ``admit_merchant``: the merchant takes its own municipality's passes
    only. What other members' children spent there is still settled by them."""
    merchant, home = _merchant(session, actor, merchant_id)
    admitted = session.get(CooperationMerchant, merchant.id)
    if admitted is None:
        found = membership(session, home.id)
        if found is None:
            raise NotFound(f"{merchant.name} is not in a cooperation")
        return Admission(found[0], merchant, False, ())
    cooperation = session.get(Cooperation, admitted.cooperation_id)
    assert cooperation is not None
    session.execute(delete(CooperationPayable).where(CooperationPayable.merchant_id == merchant.id))
    session.execute(delete(CooperationMerchant).where(CooperationMerchant.merchant_id == merchant.id))
    session.expunge(admitted)
    record_audit(
        session, actor, "cooperation.merchant_withdraw", "merchant", merchant.id,
        before={"cooperation": cooperation.code, "merchant": merchant.name}, municipality_id=home.id,
    )
    return Admission(cooperation, merchant, True, ())


def leave_cooperation(session: Session, actor: Actor | None, municipality_code: str) -> Cooperation:
    """A member leaves (the operator, or its own admin; an invitation can be
    declined the same way). The cooperation's merchants stop taking its
    passes and its merchants stop taking the others'; what was spent is
    still settled. The lead cannot leave its own cooperation."""
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    found = membership(session, municipality.id)
    if found is None:
        raise NotFound(f"{municipality.code} is not in a cooperation")
    cooperation, member = found
    if cooperation.lead_municipality_id == municipality.id:
        raise ValidationFailed(
            f"{municipality.code} is the lead of cooperation {cooperation.code} and cannot leave it",
            refusal="cooperation_lead_stays", cooperation=cooperation.name,
        )
    own = select(Merchant.id).where(Merchant.municipality_id == municipality.id)
    session.execute(
        delete(CooperationPayable).where(
            (CooperationPayable.municipality_id == municipality.id) | CooperationPayable.merchant_id.in_(own)
        )
    )
    session.execute(delete(CooperationMerchant).where(CooperationMerchant.merchant_id.in_(own)))
    status = member.status
    session.delete(member)
    session.flush()
    record_audit(
        session, actor, "cooperation.leave", "cooperation", cooperation.code,
        before={"status": status, "municipality": municipality.code}, municipality_id=municipality.id,
    )
    return cooperation


def set_payout(
    session: Session, code: str, payout: str, *, iban: str | None = None, bic: str | None = None
) -> Cooperation:
    """Who pays the merchants (the operator, on the members' agreement):
    ``members`` (each from its own account) or ``cooperation`` (one file
    from the cooperation's IBAN). Batches already in a cooperation's payment
    run are paid by it either way."""
    cooperation = get_cooperation(session, code)
    account = _bank_account(iban, bic) if (iban or "").strip() or bic else (cooperation.iban, cooperation.bic)
    _check_payout(payout, account[0])
    before = _snapshot(cooperation)
    cooperation.payout, cooperation.iban, cooperation.bic = payout, account[0], account[1]
    session.flush()
    if before != _snapshot(cooperation):
        record_audit(
            session, None, "cooperation.payout", "cooperation", cooperation.code,
            before=before, after=_snapshot(cooperation), municipality_id=cooperation.lead_municipality_id,
        )
    return cooperation


# -- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    code: str
    name: str
    status: str
    lead: bool
    joined_at: datetime | None


@dataclass(frozen=True)
class MerchantView:
    id: int
    name: str
    municipality_code: str
    categories: str
    status: str


@dataclass(frozen=True)
class CooperationView:
    code: str
    name: str
    payout: str
    iban: str | None
    lead_code: str
    members: tuple[MemberView, ...]
    merchants: tuple[MerchantView, ...]


def describe(session: Session, code: str) -> CooperationView:
    cooperation = get_cooperation(session, code)
    rows = session.execute(
        select(Municipality, CooperationMember)
        .join(CooperationMember, CooperationMember.municipality_id == Municipality.id)
        .where(CooperationMember.cooperation_id == cooperation.id)
        .order_by(Municipality.name, Municipality.code)
    ).all()
    codes = dict(session.execute(select(Municipality.id, Municipality.code)).all())
    return CooperationView(
        cooperation.code, cooperation.name, cooperation.payout, cooperation.iban,
        codes[cooperation.lead_municipality_id],
        tuple(
            MemberView(m.code, m.name, member.status, m.id == cooperation.lead_municipality_id, member.joined_at)
            for m, member in rows
        ),
        tuple(
            MerchantView(merchant.id, merchant.name, codes[merchant.municipality_id], merchant.categories, merchant.status)
            for merchant in admitted_merchants(session, cooperation.id)
        ),
    )


def list_cooperations(session: Session) -> list[Cooperation]:
    return list(session.execute(select(Cooperation).order_by(Cooperation.code)).scalars())


def invitable(session: Session, actor: Actor, code: str) -> list[Municipality]:
    """Municipalities the lead's admin may invite: those in no cooperation."""
    cooperation = get_cooperation(session, code)
    ensure_role(actor, "admin", "system")
    ensure_municipality(actor, cooperation.lead_municipality_id)
    return list(
        session.execute(
            select(Municipality)
            .where(~select(CooperationMember.id).where(CooperationMember.municipality_id == Municipality.id).exists())
            .order_by(Municipality.name, Municipality.code)
        ).scalars()
    )

"""Case workers' caps: how many passes each may award a year on their own judgement, and the awards made."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.models import User
from ..access.policy import Actor
from ..clock import now_utc
from ..errors import ValidationFailed
from ..wallet.models import Child, ChildPass
from .models import CaseworkerAward, CaseworkerCap
from .scope import ADMIN, staff


@dataclass(frozen=True)
class CapStatus:
    year: int
    max_passes: int | None
    used: int

    @property
    def left(self) -> int:
        return max(0, (self.max_passes or 0) - self.used)


def awards_of(session: Session, user_id: int, year: int) -> int:
    return session.execute(
        select(func.count()).select_from(CaseworkerAward)
        .where(CaseworkerAward.user_id == user_id, CaseworkerAward.year == year)
    ).scalar_one()


def cap_of(session: Session, municipality_id: int, year: int) -> int | None:
    return session.execute(
        select(CaseworkerCap.max_passes).where(CaseworkerCap.municipality_id == municipality_id, CaseworkerCap.year == year)
    ).scalar()


def cap_status(session: Session, actor: Actor, year: int) -> CapStatus:
    """The yearly cap and how much of it the acting case worker has used."""
    municipality_id = staff(actor)
    used = awards_of(session, actor.user_id, year) if actor.user_id is not None else 0
    return CapStatus(year, cap_of(session, municipality_id, year), used)


def set_caseworker_cap(session: Session, actor: Actor, year: int, max_passes: int | str) -> CaseworkerCap:
    """How many discretionary passes each case worker may issue in ``year`` (admins only)."""
    municipality_id = staff(actor, ADMIN)
    try:
        value = int(str(max_passes).strip())
    except ValueError:
        raise ValidationFailed("the cap is a whole number", refusal="cap_not_number") from None
    if not 0 <= value <= 100_000:
        raise ValidationFailed("the cap lies between 0 and 100,000", refusal="cap_range")
    if not 2000 <= year <= 2100:
        raise ValidationFailed("choose a year between 2000 and 2100", refusal="cap_year_range")
    cap = session.execute(
        select(CaseworkerCap).where(CaseworkerCap.municipality_id == municipality_id, CaseworkerCap.year == year)
        .with_for_update()
    ).scalar_one_or_none()
    before = None if cap is None else {"year": year, "max_passes": cap.max_passes}
    if cap is None:
        cap = CaseworkerCap(municipality_id=municipality_id, year=year, max_passes=value)
        session.add(cap)
    cap.max_passes, cap.updated_by_user_id, cap.updated_at = value, actor.user_id, now_utc()
    session.flush()
    if before is None or before["max_passes"] != value:
        record_audit(session, actor, "caseworker_cap.set", "caseworker_cap", cap.id,
                     before=before, after={"year": year, "max_passes": value})
    return cap


@dataclass(frozen=True)
class AwardRow:
    at: datetime
    caseworker: str
    child_id: int
    child_ref: str
    first_name: str
    pass_number: str
    override_reason: str | None


def caseworker_awards(session: Session, actor: Actor, year: int) -> list[AwardRow]:
    """Discretionary awards of ``year``: an admin sees everyone's, a case worker their own."""
    municipality_id = staff(actor)
    query = (
        select(CaseworkerAward, User.email, Child, ChildPass)
        .join(User, User.id == CaseworkerAward.user_id)
        .join(Child, Child.id == CaseworkerAward.child_id)
        .join(ChildPass, ChildPass.id == CaseworkerAward.pass_id)
        .where(CaseworkerAward.municipality_id == municipality_id, CaseworkerAward.year == year)
        .order_by(CaseworkerAward.id.desc())
    )
    if actor.role != ADMIN:
        query = query.where(CaseworkerAward.user_id == actor.user_id)
    return [
        AwardRow(a.created_at, email, c.id, c.child_ref, c.first_name, p.pass_number, c.override_reason)
        for a, email, c, p in session.execute(query)
    ]

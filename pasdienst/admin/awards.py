"""A case worker's award: a child registered (or already known) with the reason, and its pass issued.

The child is held to the children file's row rules (``wallet.register_child``) and
its pass issued by the issuing run's rules (``wallet.issue_for_child``); what is
the back office's own is the year a case worker may award for, the yearly cap
(``caps.py``) and the record of who awarded what (``CaseworkerAward``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.models import User
from ..access.policy import Actor
from ..clock import now_utc
from ..config import Settings
from ..errors import Conflict, NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..wallet.issue_one import SHORT_VALIDITY_DAYS
from ..wallet.models import Child, ChildPass, Scheme
from ..wallet.services import issue_for_child, register_child
from .caps import CapStatus, awards_of, cap_of
from .errors import CapReached
from .models import CaseworkerAward
from .scope import ADMIN, CASEWORKER, municipality_of, own_child, staff


@dataclass(frozen=True)
class Registration:
    child_id: int
    pass_id: int
    pass_number: str
    total_cents: int
    cap: CapStatus | None


@dataclass(frozen=True)
class AwardYear:
    """A year a case worker can award a pass for: its scheme is loaded and not over."""

    year: int
    valid_from: date
    valid_until: date
    #: ``valid_until`` − today, in days.
    days_left: int

    @property
    def short(self) -> bool:
        return self.days_left < SHORT_VALIDITY_DAYS


def award_years(session: Session, actor: Actor, today: date) -> list[AwardYear]:
    """This year and next, each once its scheme is loaded and as long as it is not over."""
    municipality_id = staff(actor)
    return [
        AwardYear(year, valid_from, valid_until, (valid_until - today).days)
        for year, valid_from, valid_until in session.execute(
            select(Scheme.year, Scheme.valid_from, Scheme.valid_until)
            .where(Scheme.municipality_id == municipality_id, Scheme.year.in_((today.year, today.year + 1)),
                   Scheme.valid_until >= today)
            .order_by(Scheme.year)
        )
    ]


_CHILD_FIELDS = ("child_ref", "first_name", "birth_date", "household_ref", "override_reason", "email", "postcode")


def _award_year(session: Session, municipality: Municipality, year: int | None, today: date) -> int:
    """This year or next (``None``: this year), and only once its scheme is loaded."""
    year = year or today.year
    if year not in (today.year, today.year + 1):
        raise ValidationFailed(f"a caseworker awards a pass for {today.year} or {today.year + 1}", refusal="award_year",
                               this_year=today.year, next_year=today.year + 1)
    if session.execute(
        select(Scheme.id).where(Scheme.municipality_id == municipality.id, Scheme.year == year)
    ).scalar() is None:
        raise NotFound(f"there is no scheme for {year}", refusal="no_scheme", year=year)
    return year


def register_child_by_caseworker(
    session: Session, actor: Actor, fields: Mapping[str, str], *, settings: Settings, today: date,
    year: int | None = None, accept_short: bool = False,
) -> Registration:
    """Register a child with a case worker's override reason and issue its pass for ``year``.

    ``year`` is this year (the default) or next, once that year's scheme is
    loaded. The child goes through the same checks as a row of the children
    CSV (``import_children``). A case worker stays within the yearly cap of
    their municipality (``CapReached`` otherwise); an admin is not capped. A
    pass valid for fewer than ``SHORT_VALIDITY_DAYS`` days needs
    ``accept_short`` (``ShortValidity`` otherwise). All or nothing: a refused
    issue leaves no child behind either.
    """
    municipality = municipality_of(session, actor, ADMIN, CASEWORKER)
    year = _award_year(session, municipality, year, today)
    values = {name: " ".join(str(fields.get(name) or "").split()) for name in _CHILD_FIELDS}
    if not values["override_reason"]:
        raise ValidationFailed("give the reason for the award", refusal="award_reason_missing")
    if not values["child_ref"] or not values["first_name"] or not values["birth_date"]:
        raise ValidationFailed("the child's reference, first name and birth date are needed", refusal="award_child_missing")
    existing = session.execute(
        select(Child).where(Child.municipality_id == municipality.id, Child.child_ref == values["child_ref"])
    ).scalar_one_or_none()
    _no_pass_yet(session, existing, values["child_ref"], year)
    cap = _within_cap(session, actor, municipality, year)
    if existing is None:
        # The rules a row of the children CSV meets (dates, postcode, e-mail), said by the same codes.
        child = register_child(session, municipality.code, values, settings=settings, today=today)
        before = None
    else:
        # A child the municipality already registered (its income too high, say): only the
        # reason is added; the rest of its row, BSN hash and income included, stays as imported.
        child = existing
        before = _set_override_reason(child, values["override_reason"])
        session.flush()
    return _award(session, actor, municipality, child, before, year, cap, settings=settings, today=today,
                  accept_short=accept_short)


def award_child(
    session: Session, actor: Actor, child_id: int, *, override_reason: str, settings: Settings, today: date,
    year: int | None = None, accept_short: bool = False,
) -> Registration:
    """A case worker's award for a child already registered (from its page): the reason, then its pass.

    The same rules as :func:`register_child_by_caseworker` (year, cap, short validity).
    """
    municipality = municipality_of(session, actor, ADMIN, CASEWORKER)
    child = own_child(session, actor, child_id)
    year = _award_year(session, municipality, year, today)
    reason = " ".join(str(override_reason or "").split())
    if not reason:
        raise ValidationFailed("give the reason for the award", refusal="award_reason_missing")
    _no_pass_yet(session, child, child.child_ref, year)
    cap = _within_cap(session, actor, municipality, year)
    before = _set_override_reason(child, reason)
    session.flush()
    return _award(session, actor, municipality, child, before, year, cap, settings=settings, today=today,
                  accept_short=accept_short)


def _no_pass_yet(session: Session, child: Child | None, child_ref: str, year: int) -> None:
    if child is not None and session.execute(
        select(ChildPass.id).where(ChildPass.child_id == child.id, ChildPass.year == year).limit(1)
    ).scalar() is not None:
        raise Conflict(f"child {child_ref} already has a pass for {year}", refusal="child_has_pass", child_ref=child_ref,
                       year=year)


def _within_cap(session: Session, actor: Actor, municipality: Municipality, year: int) -> CapStatus | None:
    """A case worker's cap for ``year`` with room left (None for an admin, who is not capped)."""
    if actor.role != CASEWORKER or actor.user_id is None:
        return None
    # Serialise this case worker's awards (SQLite: BEGIN IMMEDIATE does already),
    # so two quick submissions cannot both take the last one of the cap.
    session.execute(select(User.id).where(User.id == actor.user_id).with_for_update())
    cap = CapStatus(year, cap_of(session, municipality.id, year), awards_of(session, actor.user_id, year))
    if cap.max_passes is None:
        raise CapReached(f"no caseworker cap is set for {year}", refusal="caseworker_cap_unset", year=year)
    if cap.used >= cap.max_passes:
        raise CapReached(f"the yearly cap of {cap.max_passes} awards for {year} is reached",
                         max_passes=cap.max_passes, year=year)
    return cap


def _set_override_reason(child: Child, reason: str) -> dict[str, Any]:
    if len(reason) > 500:
        raise ValidationFailed("the reason is longer than 500 characters", refusal="reason_too_long", limit=500)
    before = _child_snapshot(child)
    child.override_reason = reason
    child.updated_at = now_utc()
    return before


def _award(
    session: Session, actor: Actor, municipality: Municipality, child: Child, before: dict[str, Any] | None,
    year: int, cap: CapStatus | None, *, settings: Settings, today: date, accept_short: bool,
) -> Registration:
    record_audit(session, actor, "child.register", "child", child.id, before=before, after=_child_snapshot(child))
    child_pass, total = issue_for_child(session, municipality.code, child, year, settings=settings, today=today,
                                        accept_short=accept_short, actor=actor)
    if actor.user_id is not None:
        session.add(CaseworkerAward(
            municipality_id=municipality.id, user_id=actor.user_id, child_id=child.id, pass_id=child_pass.id,
            year=year, created_at=now_utc(),
        ))
        session.flush()
    if cap is not None:
        cap = CapStatus(year, cap.max_passes, cap.used + 1)
    return Registration(child.id, child_pass.id, child_pass.pass_number, total, cap)


def _child_snapshot(child: Child) -> dict[str, Any]:
    # No BSN, income or birth date: the audit log needs none of them (DOMAIN.md §3.9).
    return {"child_ref": child.child_ref, "first_name": child.first_name, "override_reason": child.override_reason}

"""Who is acting and what they may touch: the actor, the scope checks, and
whether two accounts are two people (four eyes).

Below every service (the municipalities' too), so it imports none of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Forbidden
from .models import STAFF_ROLES, User


@dataclass(frozen=True)
class Actor:
    """Who is acting. Views build it from the session or token; services check scope with it."""

    user_id: int | None
    email: str
    role: str
    municipality_id: int | None
    municipality_code: str | None
    merchant_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


#: The command line acts for the operator at the keyboard, with no user row.
CLI_ACTOR = Actor(user_id=None, email="cli", role="system", municipality_id=None, municipality_code=None)


# -- scope ------------------------------------------------------------------

def ensure_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"a {actor.role} may not do this")


def ensure_municipality(actor: Actor, municipality_id: int) -> None:
    """Staff and merchants act only inside their own municipality; the CLI everywhere."""
    if actor.role == "system":
        return
    if actor.municipality_id != municipality_id:
        raise Forbidden("this belongs to another municipality")


def ensure_merchant(actor: Actor, merchant_id: int) -> None:
    """A merchant user acts only for its own merchant."""
    if actor.role == "system":
        return
    if actor.role != "merchant" or actor.merchant_id != merchant_id:
        raise Forbidden("this belongs to another merchant")


# -- four eyes ---------------------------------------------------------------

#: Deeper sponsor chains than this are not followed (none is expected to be).
_MAX_LINEAGE = 64


def lineage(session: Session, user_id: int) -> set[int]:
    """``user_id`` and every admin up its chain of sponsors.

    Whoever saw an account's one-time password could have used it, and an
    account so used could have sponsored the next: one person may stand
    behind every account of a lineage.
    """
    found: set[int] = set()
    current: int | None = user_id
    while current is not None and current not in found and len(found) < _MAX_LINEAGE:
        found.add(current)
        current = session.execute(select(User.sponsor_user_id).where(User.id == current)).scalar()
    return found


def same_hands(session: Session, one_user_id: int | None, other_user_id: int | None) -> bool:
    """True unless the two accounts are surely two people for a four-eyes check.

    They are not when either is missing (the command line, a deleted
    account), when they are the same account, or when their lineages meet:
    one sponsored the other (directly or up the chain), or one admin
    sponsored both. See docs/SECURITY.md, "Four eyes".
    """
    if one_user_id is None or other_user_id is None:
        return True
    return bool(lineage(session, one_user_id) & lineage(session, other_user_id))

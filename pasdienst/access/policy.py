"""Who is acting and what they may touch: the actor and the scope checks.

Below every service (the municipalities' too), so it imports none of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden
from .models import STAFF_ROLES


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

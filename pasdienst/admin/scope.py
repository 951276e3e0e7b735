"""Whom the back office's own services serve: the acting staff member's municipality, and only its records.

Another municipality's child or pass is "not found" (404), never "forbidden":
its existence stays private.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..access.policy import Actor, ensure_role
from ..errors import NotFound, ValidationFailed
from ..municipalities.models import Municipality
from ..wallet.errors import PassNotFound
from ..wallet.lifecycle import find_pass
from ..wallet.models import Child, ChildPass

ADMIN = "admin"
CASEWORKER = "caseworker"


def staff(actor: Actor, *roles: str) -> int:
    """The actor's municipality id, after checking the role (admin or case worker unless ``roles`` say)."""
    ensure_role(actor, *(roles or (ADMIN, CASEWORKER)))
    if actor.municipality_id is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    return actor.municipality_id


def municipality_of(session: Session, actor: Actor, *roles: str) -> Municipality:
    municipality = session.get(Municipality, staff(actor, *roles))
    if municipality is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    return municipality


def own_child(session: Session, actor: Actor, child_id: int) -> Child:
    child = session.get(Child, child_id) if isinstance(child_id, int) else None
    if child is None or child.municipality_id != actor.municipality_id:
        raise NotFound("no such child in this municipality", refusal="child_not_found")
    return child


def own_pass(session: Session, actor: Actor, pass_ref: str | int, *, for_update: bool = False) -> ChildPass:
    try:
        child_pass = find_pass(session, str(pass_ref), for_update=for_update)
    except (PassNotFound, ValidationFailed):
        raise NotFound(f"pass {pass_ref} not found", refusal="pass_not_found", pass_ref=str(pass_ref)) from None
    if child_pass.municipality_id != actor.municipality_id:
        raise NotFound(f"pass {pass_ref} not found", refusal="pass_not_found", pass_ref=str(pass_ref))
    return child_pass

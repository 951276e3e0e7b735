"""The audit log as staff read it: each event's record named as people know it, with a link.

An event stores what it is about as ``entity_type`` and ``entity_id`` (a
pass by its number, most others by a row id). :func:`audit_rows` looks the
records of a page of events up in one query per kind and names them: a pass
by its number and the child's first name, a child by first name and
municipal reference, a merchant by name, a settlement batch as ``B12``. Each
links to where it is shown (the child's page, the merchant on the merchants
page, the batch on ``/finance``). Only the actor's own municipality is
looked up, and nothing that names a BSN or an income is read.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.models import ApiToken, AuditEvent, User
from ..access.policy import Actor, ensure_role
from ..jobs.models import Job
from ..merchants.models import IbanChangeRequest
from ..municipalities.models import Municipality
from ..redeem.models import Redemption
from ..merchants.models import Merchant
from ..settlement.models import SettlementBatch
from ..wallet.models import Child, ChildPass, Scheme, format_pass_number
from ..foureyes.models import FourEyesRequest
from .models import CaseworkerCap

_PASS_NUMBER = re.compile(r"^KP-[0-9]{4}-([0-9]{1,18})$")
_ROW_ID = re.compile(r"^[0-9]{1,18}$")


@dataclass(frozen=True)
class EntityRef:
    """What an event is about: ``text`` (``KP-2027-000001 (Sanne)``) and where it is shown, if anywhere."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor_email: str
    action: str
    entity_type: str
    entity_id: str | None
    entity: EntityRef
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit_rows(session: Session, actor: Actor, events: Iterable[AuditEvent]) -> list[AuditRow]:
    """``events`` (of the actor's municipality) with the records they concern named and linked."""
    ensure_role(actor, "admin", "system")
    events = list(events)
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        row_id = _row_id(event.entity_type, event.entity_id)
        if row_id is not None:
            wanted[event.entity_type].add(row_id)
    found: dict[tuple[str, int], EntityRef] = {}
    for entity_type, ids in wanted.items():
        lookup = _LOOKUPS.get(entity_type)
        if lookup is not None:
            for row_id, named in lookup(session, actor.municipality_id, sorted(ids)):
                found[(entity_type, row_id)] = named
    rows = []
    for event in events:
        row_id = _row_id(event.entity_type, event.entity_id)
        ref = found.get((event.entity_type, row_id)) if row_id is not None else None
        if ref is None:
            ref = _from_snapshot(event) or EntityRef(event.entity_id or "")
        rows.append(AuditRow(
            event.id, event.at, event.actor_email, event.action, event.entity_type, event.entity_id, ref,
            event.before, event.after,
        ))
    return rows


def _row_id(entity_type: str, entity_id: str | None) -> int | None:
    """The row id behind an event's ``entity_id`` (a pass may be named by its number or, in old events, its id)."""
    text = (entity_id or "").strip()
    if entity_type == "pass" and (match := _PASS_NUMBER.match(text)):
        return int(match.group(1))
    return int(text) if _ROW_ID.match(text) else None


def _passes(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for pass_id, year, child_id, first_name in session.execute(
        select(ChildPass.id, ChildPass.year, Child.id, Child.first_name).join(Child, Child.id == ChildPass.child_id)
        .where(ChildPass.id.in_(ids), ChildPass.municipality_id == municipality_id)
    ):
        yield pass_id, EntityRef(f"{format_pass_number(year, pass_id)} ({first_name})", f"/admin/kinderen/{child_id}")


def _children(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for child_id, first_name, child_ref in session.execute(
        select(Child.id, Child.first_name, Child.child_ref).where(Child.id.in_(ids), Child.municipality_id == municipality_id)
    ):
        yield child_id, EntityRef(f"{first_name} ({child_ref})", f"/admin/kinderen/{child_id}")


def _merchant_ref(merchant_id: int, name: str) -> EntityRef:
    return EntityRef(name, f"/admin/aanbieders#merchant-{merchant_id}")


def _merchants(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for merchant_id, name in session.execute(
        select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids), Merchant.municipality_id == municipality_id)
    ):
        yield merchant_id, _merchant_ref(merchant_id, name)


def _iban_changes(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for change_id, merchant_id, name in session.execute(
        select(IbanChangeRequest.id, Merchant.id, Merchant.name).join(Merchant, Merchant.id == IbanChangeRequest.merchant_id)
        .where(IbanChangeRequest.id.in_(ids), IbanChangeRequest.municipality_id == municipality_id)
    ):
        yield change_id, EntityRef(f"van {name}", f"/admin/aanbieders#merchant-{merchant_id}")


def _batches(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for (batch_id,) in session.execute(
        select(SettlementBatch.id).where(SettlementBatch.id.in_(ids), SettlementBatch.municipality_id == municipality_id)
    ):
        yield batch_id, EntityRef(f"B{batch_id}", f"/finance/afrekeningen/{batch_id}")


def _redemptions(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for redemption_id, receipt_no, merchant_name, child_id in session.execute(
        select(Redemption.id, Redemption.receipt_no, Merchant.name, ChildPass.child_id)
        .join(Merchant, Merchant.id == Redemption.merchant_id).join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(Redemption.id.in_(ids), Redemption.municipality_id == municipality_id)
    ):
        yield redemption_id, EntityRef(f"bon {receipt_no} bij {merchant_name}", f"/admin/kinderen/{child_id}")


def _users(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for user_id, email in session.execute(
        select(User.id, User.email).where(User.id.in_(ids), User.municipality_id == municipality_id)
    ):
        yield user_id, EntityRef(email, "/admin/gebruikers")


def _tokens(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for token_id, name, email in session.execute(
        select(ApiToken.id, ApiToken.name, User.email).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id.in_(ids), User.municipality_id == municipality_id)
    ):
        yield token_id, EntityRef(f"{name} van {email}" if name else f"van {email}")


def _requests(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for (request_id,) in session.execute(
        select(FourEyesRequest.id).where(FourEyesRequest.id.in_(ids), FourEyesRequest.municipality_id == municipality_id)
    ):
        yield request_id, EntityRef(str(request_id), "/admin/verzoeken")


def _schemes(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for scheme_id, year in session.execute(
        select(Scheme.id, Scheme.year).where(Scheme.id.in_(ids), Scheme.municipality_id == municipality_id)
    ):
        yield scheme_id, EntityRef(str(year), "/admin/regeling")


def _caps(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for cap_id, year in session.execute(
        select(CaseworkerCap.id, CaseworkerCap.year).where(CaseworkerCap.id.in_(ids), CaseworkerCap.municipality_id == municipality_id)
    ):
        yield cap_id, EntityRef(str(year), f"/admin/consulenten?year={year}")


def _jobs(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for (job_id,) in session.execute(select(Job.id).where(Job.id.in_(ids), Job.municipality_id == municipality_id)):
        yield job_id, EntityRef(str(job_id), f"/admin/taken/{job_id}")


def _municipalities(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    for found_id, name in session.execute(
        select(Municipality.id, Municipality.name).where(Municipality.id.in_(ids), Municipality.id == municipality_id)
    ):
        yield found_id, EntityRef(name)


def _transfers(session: Session, municipality_id: int | None, ids: list[int]) -> Iterable[tuple[int, EntityRef]]:
    # A top-up of the fund: shown with the budget (the event's "after" holds amount and reference).
    return ((transfer_id, EntityRef(str(transfer_id), "/admin/budget")) for transfer_id in ids)


_LOOKUPS = {
    "pass": _passes, "child": _children, "merchant": _merchants, "iban_change": _iban_changes,
    "settlement_batch": _batches, "redemption": _redemptions, "user": _users, "api_token": _tokens,
    "four_eyes_request": _requests, "scheme": _schemes, "caseworker_cap": _caps, "job": _jobs,
    "municipality": _municipalities, "ledger_transfer": _transfers,
}


def _from_snapshot(event: AuditEvent) -> EntityRef | None:
    """A record that is gone (a deleted voucher binding) named from the event's own snapshot, or one named by its code."""
    snapshot = event.after or event.before or {}
    if event.entity_type == "cooperation":
        # Named by its code: the page of the municipality's own cooperation.
        return EntityRef(event.entity_id or "", "/admin/samenwerking")
    if event.entity_type in ("team", "fund"):
        return EntityRef(str(snapshot.get("team") or snapshot.get("name") or event.entity_id or ""), "/admin/maatwerk")
    if event.entity_type == "maatwerk_award":
        return EntityRef(str(snapshot.get("award") or event.entity_id or ""), "/admin/maatwerk")
    if event.entity_type == "voucher_binding" and snapshot.get("merchant_id") is not None:
        return EntityRef(f"{snapshot.get('voucher_code')} bij {snapshot.get('merchant')}",
                         f"/admin/aanbieders#merchant-{snapshot['merchant_id']}")
    return None

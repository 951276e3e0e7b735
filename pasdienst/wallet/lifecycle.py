"""A pass after issue: resolving what is scanned or typed, blocking, reissuing.

Resolution checks the QR token's MAC, or the typed code's check character,
before it touches the database; only then does it look the pass up, by its
handle or by the keyed hash of the code. Which generation is current is the
database's to say: a blocked one is ``pass_blocked``, and so is a replaced
one (its ``reason`` says ``replaced``: the family has a new letter); one
outside its dates is ``pass_expired``.

Lock order (docs/ARCHITECTURE.md): voucher accounts in ascending id order,
then the pass row. Block and reissue lock all the pass's voucher accounts
before they change the pass; a till debits one account (the ledger's guarded
update locks it) and then reads the pass again; a void or correction holds
the account it gave the money back to before it reads where the child's
pass is now. Whoever holds a voucher's account therefore never meets a half
done block or reissue of its pass, and nobody waits for an account while
holding a pass another is waiting for. (SQLite: writers take turns anyway.)

Money follows the child: what a void or a correction gives back lands on the
child's current pass (``follow_child``), never on a replaced one.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import books, ledger
from ..access.audit import record_audit
from ..access.policy import Actor, ensure_role
from ..clock import now_utc
from ..db import rowcount
from ..config import Settings
from ..errors import ValidationFailed
from ..ledger import Account
from ..municipalities.models import Municipality
from . import codes, tokens
from .errors import (
    InvalidCode,
    PassBlocked,
    PassExpired,
    PassNotFound,
    PassStateConflict,
    pass_replaced,
    unknown_pass,
)
from .issuing import PlannedPass, PlannedVoucher, write_passes
from .models import (
    ACTIVE,
    BLOCKED,
    EXPIRED,
    PUNCHCARD,
    REISSUE_REASONS,
    REPLACED,
    ChildPass,
    Voucher,
    format_pass_number,
)

# ASCII digits, at most 18 (always below the largest BIGINT): ``\d`` and ``isdigit`` would pass "²"
# to int() (a ValueError) and an id beyond 64 bits overflows the driver.
_PASS_NUMBER = re.compile(r"^KP-([0-9]{4})-([0-9]{1,18})$")
_PASS_ID = re.compile(r"^[0-9]{1,18}$")


def find_pass(session: Session, pass_ref: str, *, for_update: bool = False) -> ChildPass:
    """A pass by its number (``KP-2027-000123``) or its numeric id."""
    ref = (pass_ref or "").strip().upper()
    year = None
    if match := _PASS_NUMBER.match(ref):
        year, pass_id = int(match.group(1)), int(match.group(2))
    elif _PASS_ID.match(ref):
        pass_id = int(ref)
    else:
        raise ValidationFailed(f"{pass_ref!r} is not a pass number such as KP-2027-000123")
    query = select(ChildPass).where(ChildPass.id == pass_id)
    if for_update:
        # NO KEY UPDATE, the lock an UPDATE of the status takes anyway: not
        # FOR UPDATE, which would wait for every till's redemption row
        # referring to the pass (KEY SHARE). ``populate_existing``: a copy
        # loaded before the lock (the audit's "before") may be stale by now.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = session.execute(query).scalar_one_or_none()
    if found is None or (year is not None and found.year != year):
        raise PassNotFound(f"no pass {pass_ref}", refusal="pass_not_found", pass_ref=pass_ref)
    return found


def _in_scope(actor: Actor | None, child_pass: ChildPass) -> None:
    """Staff block and reissue only as admins, and only their own municipality's passes: another's is
    "not found", its existence kept private (the command line's ``CLI_ACTOR`` reaches every pass)."""
    if actor is None or actor.role == "system":
        return
    ensure_role(actor, "admin")
    if actor.municipality_id != child_pass.municipality_id:
        raise PassNotFound(f"no pass {child_pass.pass_number}", refusal="pass_not_found",
                           pass_ref=child_pass.pass_number)


def check_usable(child_pass: ChildPass, today: date) -> ChildPass:
    """Raise unless the pass may be used on ``today`` (Europe/Amsterdam, inclusive)."""
    if child_pass.status == REPLACED:
        raise pass_replaced()
    if child_pass.status == BLOCKED:
        raise PassBlocked("this pass is blocked")
    if child_pass.status == EXPIRED or not (child_pass.valid_from <= today <= child_pass.valid_until):
        raise PassExpired(
            f"this pass is valid from {child_pass.valid_from} until {child_pass.valid_until}"
        )
    return child_pass


def pass_by_token(session: Session, token: str, *, settings: Settings) -> ChildPass:
    """The pass generation named by a QR token (its state not yet checked:
    it may be blocked, replaced or expired)."""
    handle = tokens.verify_token(settings, token)
    found = session.execute(select(ChildPass).where(ChildPass.handle == handle)).scalar_one_or_none()
    if found is None:
        raise unknown_pass()
    return found


def resolve_pass(session: Session, code: str, *, settings: Settings, today: date) -> ChildPass:
    """The usable pass behind a scanned QR payload (any base URL), a bare
    token, or a typed code with or without hyphens.

    Raises ``InvalidCode`` (forged, tampered, mistyped or unknown),
    ``PassBlocked`` (blocked, or replaced by a reissue) or ``PassExpired``.
    """
    text = (code or "").strip()
    token = tokens.extract_token(text)
    if token is not None:
        return check_usable(pass_by_token(session, token, settings=settings), today)
    if not codes.looks_like_typed_code(text):
        raise InvalidCode("this is not a pass code")
    normalised = codes.normalise(text)
    found = session.execute(
        select(ChildPass).where(ChildPass.code_hash.in_(codes.lookup_hashes(settings, normalised)))
    ).scalar_one_or_none()
    if found is None:
        raise unknown_pass()
    return check_usable(found, today)


def block_pass(session: Session, pass_ref: str, *, reason: str, actor: Actor | None = None) -> ChildPass:
    """Stop a lost or stolen pass: its QR and typed code fail from now on.

    With ``actor`` (an admin of the pass's municipality, or ``CLI_ACTOR``) it is audited as ``pass.block``."""
    child_pass = find_pass(session, pass_ref)
    _in_scope(actor, child_pass)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("blocking a pass needs a reason (e.g. 'lost, reported by parent')",
                               refusal="pass_block_reason_missing")
    if len(reason) > 500:
        raise ValidationFailed("a block reason is at most 500 characters", refusal="reason_too_long", limit=500)
    before = child_pass.audit_snapshot()
    # The accounts first, then the pass (lock order): a till debiting one of
    # them finishes first, and one arriving later reads the pass blocked.
    _lock_accounts(session, child_pass.id)
    changed = rowcount(session.execute(
        update(ChildPass)
        .where(ChildPass.id == child_pass.id, ChildPass.status == ACTIVE)
        .values(status=BLOCKED, blocked_at=now_utc(), block_reason=reason)
        .execution_options(synchronize_session=False)
    ))
    if changed != 1:
        raise PassStateConflict(f"pass {child_pass.pass_number} is {child_pass.status}, not active: it cannot be blocked",
                                refusal="pass_not_blockable", pass_ref=child_pass.pass_number)
    session.refresh(child_pass)
    if actor is not None:
        record_audit(session, actor, "pass.block", "pass", child_pass.pass_number, before=before,
                     after=child_pass.audit_snapshot(), municipality_id=child_pass.municipality_id)
    return child_pass


def reissue_pass(
    session: Session, pass_ref: str, *, settings: Settings, today: date, actor: Actor | None = None,
    reason: str | None = None, note: str | None = None,
) -> ChildPass:
    """A new pass for the same child carrying the remaining balances over.

    The old pass (active or blocked) becomes ``replaced``: its QR and code
    stop working. Each voucher's remaining balance (or strips) moves to a new
    voucher by a ``carry_over`` transfer; the old vouchers stay as history.
    ``reason`` is one of ``REISSUE_REASONS`` (``other`` needs ``note``), or None
    when none was given (the command line may leave it out; a page's empty
    choice is refused). With ``actor`` (an admin of the pass's municipality,
    or ``CLI_ACTOR``) it is audited as ``pass.reissue`` with ``reason`` and ``note``.
    """
    target = find_pass(session, pass_ref)
    _in_scope(actor, target)
    note = " ".join((note or "").split()) or None
    if reason is not None and reason not in REISSUE_REASONS:
        raise ValidationFailed("choose why the pass is replaced", refusal="reissue_reason_missing")
    if reason == "other" and not note:
        raise ValidationFailed("say in a few words why the pass is replaced", refusal="reissue_note_missing")
    if note is not None and len(note) > 500:
        raise ValidationFailed("the note is longer than 500 characters", refusal="note_too_long", limit=500)
    # The accounts first, then the pass (lock order): a redemption racing the
    # reissue either lands before (and is carried over net) or, having waited
    # for the account, reads the pass replaced and is refused.
    balances = _lock_accounts(session, target.id)
    old = find_pass(session, str(target.id), for_update=True)
    # Again under the pass's lock: a voucher added to the pass meanwhile (a maatwerk
    # award, which holds the pass row while it adds one) was not among the accounts
    # the first statement saw, and its money must be carried over too.
    balances = _lock_accounts(session, target.id)
    if old.status not in (ACTIVE, BLOCKED):
        raise PassStateConflict(f"pass {old.pass_number} is {old.status}: it cannot be reissued",
                                refusal="pass_not_reissuable", pass_ref=old.pass_number, status=old.status)
    if today > old.valid_until:
        raise PassStateConflict(f"pass {old.pass_number} expired on {old.valid_until}: it cannot be reissued",
                                refusal="pass_reissue_expired", pass_ref=old.pass_number, valid_until=old.valid_until)
    before = old.audit_snapshot()
    municipality = session.get(Municipality, old.municipality_id)
    assert municipality is not None
    vouchers = session.execute(select(Voucher).where(Voucher.pass_id == old.id).order_by(Voucher.id)).scalars().all()
    plan = PlannedPass(
        child_id=old.child_id, scheme_id=old.scheme_id, year=old.year, generation=old.generation + 1,
        valid_from=old.valid_from, valid_until=old.valid_until,
        award_basis=old.award_basis, award_share=old.award_share, replaces_id=old.id,
        vouchers=[
            PlannedVoucher(
                kind=v.kind, category=v.category, code=v.code, cents=int(balances[v.account_id]),
                strip_value_cents=v.strip_value_cents, valid_until=v.valid_until,
                source_account=v.account_id, transfer_kind=books.CARRY_OVER, carried_from_id=v.id,
                return_account_id=v.return_account_id,
            )
            for v in vouchers
        ],
    )
    old.status = REPLACED
    session.flush()
    (new_id,) = write_passes(session, municipality, [plan], settings=settings)
    new = session.get(ChildPass, new_id)
    assert new is not None
    if actor is not None:
        # Why it was replaced (one of REISSUE_REASONS, and a note) goes into the event, as the page asks.
        record_audit(
            session, actor, "pass.reissue", "pass", new.pass_number, before=before,
            after={**new.audit_snapshot(), "replaces": old.pass_number, "reason": reason, **({"note": note} if note else {})},
            municipality_id=new.municipality_id,
        )
    return new


def _lock_accounts(session: Session, pass_id: int) -> dict[int, int]:
    """Lock the pass's voucher accounts (ascending ids, as the ledger does);
    their balances as now committed, by account id."""
    return {
        account_id: int(balance)
        for account_id, balance in session.execute(
            select(Account.id, Account.balance)
            .join(Voucher, Voucher.account_id == Account.id)
            .where(Voucher.pass_id == pass_id)
            .order_by(Account.id)
            .with_for_update(of=Account)
        )
    }


_voucher_table = Voucher.__table__
_pass_table = ChildPass.__table__
_VOUCHER_AND_PASS = select(
    _voucher_table.c.id, _voucher_table.c.account_id, _voucher_table.c.municipality_id,
    _voucher_table.c.return_account_id,
    _pass_table.c.id.label("pass_id"), _pass_table.c.year, _pass_table.c.status,
).join(_pass_table, _pass_table.c.id == _voucher_table.c.pass_id)


def follow_child(session: Session, voucher_id: int, amount: int, *, reference: str, now: datetime) -> str:
    """Move ``amount`` cents that a void or correction has just given back to
    voucher ``voucher_id`` (reversing a redemption onto it, which locked its
    account) to where the child can use them:

    * the voucher's pass is active or blocked: they stay (a blocked pass
      carries them over when it is reissued);
    * the pass was reissued, once or more: a ``carry_over`` to the matching
      voucher of the child's current pass, as the reissue carried the rest;
    * the year is closed (the pass, or its last reissue, expired): back to
      the fund as year end returned the rest (``expire``, then ``return``),
      or a fund's award to that fund's account (``fund_return``).

    Returns where they went: ``voucher``, ``carried`` or ``fund``.
    """
    conn = session.connection()
    where = "voucher"
    while True:
        # Read with the voucher's account locked: a block or reissue of its
        # pass locks that account first, so none is half done now.
        here = conn.execute(_VOUCHER_AND_PASS.where(_voucher_table.c.id == voucher_id)).one()
        if here.status == REPLACED:
            # To the newest generation at once; should that be reissued
            # while we wait for its account, the next round carries on.
            successor = here
            while successor.status == REPLACED:
                successor = conn.execute(
                    _VOUCHER_AND_PASS.where(_voucher_table.c.carried_from_id == successor.id)
                ).one()
            ledger.transfer(
                session, kind=books.CARRY_OVER, source=here.account_id, destination=successor.account_id,
                amount=amount, reference=f"{reference}: to {format_pass_number(successor.year, successor.pass_id)}",
                now=now,
            )
            voucher_id, where = successor.id, "carried"
            continue
        if here.status == EXPIRED and here.return_account_id is not None:
            # A fund's award: its money goes back to the fund, as year end sent the rest.
            ledger.transfer(
                session, kind=books.FUND_RETURN, source=here.account_id, destination=here.return_account_id,
                amount=amount, reference=f"{reference}: year {here.year} closed, back to its fund", now=now,
            )
            return "fund"
        if here.status == EXPIRED:
            code = session.execute(select(Municipality.code).where(Municipality.id == here.municipality_id)).scalar_one()
            expired = ledger.get_account(session, books.expired_key(code))
            fund = ledger.get_account(session, books.fund_key(code))
            ledger.transfer(
                session, kind=books.EXPIRE, source=here.account_id, destination=expired.id, amount=amount,
                reference=f"{reference}: year {here.year} closed, voucher {here.id}", now=now,
            )
            ledger.transfer(
                session, kind=books.RETURN, source=expired.id, destination=fund.id, amount=amount,
                reference=f"{reference}: year {here.year} closed, back to the fund", now=now,
            )
            return "fund"
        return where


def voucher_now(session: Session, voucher_id: int) -> tuple[int, int | None] | None:
    """Where the child's money of voucher ``voucher_id`` is now, as a till
    shows it: the balance in cents and, for a punch card, the strips left, of
    this voucher or (after a reissue) the matching voucher of the child's
    current pass; None once its year is closed (the money went to the fund)."""
    voucher = session.get(Voucher, voucher_id)
    while voucher is not None:
        status = session.execute(select(ChildPass.status).where(ChildPass.id == voucher.pass_id)).scalar_one()
        if status == EXPIRED:
            return None
        if status != REPLACED:
            balance = int(ledger.balance(session, voucher.account_id))
            strip = voucher.strip_value_cents if voucher.kind == PUNCHCARD else None
            return balance, (balance // strip if strip else None)
        voucher = session.execute(select(Voucher).where(Voucher.carried_from_id == voucher.id)).scalar_one_or_none()
    return None


def replaced_by(session: Session, child_pass: ChildPass) -> str | None:
    newer = session.execute(
        select(ChildPass.id, ChildPass.year).where(ChildPass.replaces_id == child_pass.id)
    ).first()
    return format_pass_number(newer.year, newer.id) if newer else None

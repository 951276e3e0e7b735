"""Audit events for the command line's writes.

The wallet and budget services do not audit (the back office wraps them and
audits with the staff member as actor), so the commands that call them
directly audit here, with the same actions and snapshots as the admin pages
(``pasdienst/admin/services.py``) and the actor "cli". Each is written in the
command's transaction, so it commits or rolls back with the change.
``tests/admin/test_cli_audit.py`` holds the two shapes together.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.services import record_audit
from ..ledger.services import Posted
from ..municipalities.models import Municipality
from ..municipalities.services import get_municipality
from ..wallet.children import ImportResult
from ..wallet.issuing import IssueResult
from ..wallet.models import ChildPass, Scheme
from ..wallet.schemes import LoadResult, SchemeSpec


def pass_blocked(session: Session, before: dict[str, Any], blocked: ChildPass) -> None:
    record_audit(
        session, None, "pass.block", "pass", blocked.pass_number,
        before=before, after=blocked.audit_snapshot(), municipality_id=blocked.municipality_id,
    )


def pass_reissued(
    session: Session, old: dict[str, Any], new: ChildPass, *, reason: str | None = None, note: str | None = None
) -> None:
    record_audit(
        session, None, "pass.reissue", "pass", new.pass_number,
        before=old, after={**new.audit_snapshot(), "replaces": old["pass"], "reason": reason, **({"note": note} if note else {})},
        municipality_id=new.municipality_id,
    )


def children_imported(session: Session, municipality_code: str, result: ImportResult) -> None:
    municipality = get_municipality(session, municipality_code)
    record_audit(
        session, None, "children.import", "municipality", municipality.id,
        after={"imported": result.imported, "updated": result.updated, "unchanged": result.unchanged,
               "rejected": len(result.rejected)},
        municipality_id=municipality.id,
    )


def passes_exported(session: Session, municipality_code: str, count: int) -> None:
    municipality = get_municipality(session, municipality_code)
    record_audit(session, None, "passes.export", "municipality", municipality.id, after={"passes": count},
                 municipality_id=municipality.id)


def scheme_digest_before(session: Session, spec: SchemeSpec) -> str | None:
    """The stored scheme's digest for the file's municipality and year, read before loading it."""
    return session.execute(
        select(Scheme.digest)
        .join(Municipality, Municipality.id == Scheme.municipality_id)
        .where(Municipality.code == spec.municipality, Scheme.year == spec.year)
    ).scalar()


def scheme_loaded(session: Session, spec: SchemeSpec, before: str | None, result: LoadResult) -> None:
    if result.outcome == "unchanged":
        return
    record_audit(
        session, None, f"scheme.{'create' if result.outcome == 'created' else 'update'}", "scheme", result.scheme.id,
        before={"year": spec.year, "digest": before} if before else None,
        after={"year": spec.year, "digest": result.scheme.digest, "items": len(spec.items)},
        municipality_id=result.scheme.municipality_id,
    )


def budget_topped_up(session: Session, posted: Posted) -> None:
    if posted.replayed:
        return
    record_audit(
        session, None, "budget.topup", "ledger_transfer", posted.id,
        after={"amount_cents": posted.amount, "reference": posted.reference},
        municipality_id=get_municipality(session, posted.ledger).id,  # a municipality's ledger is named by its code
    )


# The admin pages issue one pass at a time (``pass.issue`` per pass); the
# command line issues for a whole municipality, so one event sums the run up
# rather than one per pass. (Year end records its own ``year.close``:
# ``wallet.yearend.close_year``.)

def passes_issued(session: Session, result: IssueResult) -> None:
    if not result.issued:
        return
    municipality = get_municipality(session, result.municipality)
    record_audit(
        session, None, "passes.issue", "municipality", municipality.id,
        after={"year": result.year, "issued": result.issued, "vouchers": result.vouchers,
               "total_cents": result.total_cents},
        municipality_id=municipality.id,
    )


"""Audit events for the command line's writes whose services do not audit yet.

Importing children, loading a scheme, topping up a budget, blocking and
reissuing a pass audit themselves, given the actor (``CLI_ACTOR`` here, the
staff member on the pages). Issuing and exporting still audit here, with
the same actions and snapshots as the admin pages (``pasdienst/admin/services.py``)
and the actor "cli", in the command's transaction.
``tests/admin/test_cli_audit.py`` holds the two shapes together.
"""
from __future__ import annotations


from sqlalchemy.orm import Session

from ..access.services import record_audit
from ..municipalities.services import get_municipality
from ..wallet.issuing import IssueResult


def passes_exported(session: Session, municipality_code: str, count: int) -> None:
    municipality = get_municipality(session, municipality_code)
    record_audit(session, None, "passes.export", "municipality", municipality.id, after={"passes": count},
                 municipality_id=municipality.id)


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


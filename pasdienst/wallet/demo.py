"""Demo scheme, children and passes for ``demodorp`` (a step of ``pasdienst.demo``).

Idempotent: the scheme is loaded once, re-importing the same children
changes nothing, and issuing again issues nobody new. The report lists three
pass links and their typed codes, to try the holder's page and the scanner.
"""
from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..municipalities.services import get_municipality
from . import codes, qr, tokens
from .children import import_children
from .issuing import issue_passes
from .models import ACTIVE, Child, ChildPass, Scheme, age_on
from .sample import sample_scheme
from .schemes import load_scheme

DEMO_MUNICIPALITY = "demodorp"
SAMPLE = "sample-children.csv"
SHOWN = 3


class Report(Protocol):
    def add(self, line: str) -> None: ...


def sample_children() -> bytes:
    return (resources.files("pasdienst") / "demo_data" / SAMPLE).read_bytes()


def render_missing_qr(session: Session, municipality_id: int, settings: Settings) -> None:
    missing = qr.missing_images(session, municipality_id=municipality_id)
    payloads = [(pid, tokens.payload_for(settings, handle)) for pid, handle in missing]
    for batch in qr.render_all(payloads, workers=1):  # a few dozen: no process pool
        qr.store_images(session, batch)


def load_wallet_demo(session: Session, report: Report, settings: Settings, today: date) -> None:
    municipality = get_municipality(session, DEMO_MUNICIPALITY)
    year = today.year
    has_scheme = session.execute(
        select(Scheme.id).where(Scheme.municipality_id == municipality.id, Scheme.year == year)
    ).scalar()
    if has_scheme is None:
        load_scheme(session, sample_scheme(municipality.code, year))
    imported = import_children(
        session, municipality.code, sample_children(), settings=settings, today=today, file_name=SAMPLE
    )
    issue_passes(session, municipality.code, year, settings=settings, today=today)
    render_missing_qr(session, municipality.id, settings)
    passes = session.execute(
        select(ChildPass, Child.birth_date)
        .join(Child, Child.id == ChildPass.child_id)
        .where(ChildPass.municipality_id == municipality.id, ChildPass.year == year, ChildPass.status == ACTIVE)
        .order_by(ChildPass.id)
    ).all()
    # The sample's children (later steps add one of their own; the line stays the same on every run).
    children = imported.imported + imported.updated + imported.unchanged
    report.add(
        f"{children} sample children in {municipality.code} ({len(imported.rejected)} rows rejected on purpose); "
        f"{len(passes)} passes for {year}"
    )
    # Children of school age hold every kind of voucher the demo shops take.
    shown = [p for p, born in passes if age_on(born, p.valid_from) >= 4][:SHOWN]
    for child_pass in shown:
        code = codes.code_of(settings, child_pass.handle, child_pass.code_hash)
        report.add(
            f"pass {child_pass.pass_number}: {tokens.payload_for(settings, child_pass.handle)} "
            f"(code {codes.display(code) if code else '?'})"
        )

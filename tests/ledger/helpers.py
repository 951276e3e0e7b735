from __future__ import annotations

import sqlite3

from sqlalchemy import text
from sqlalchemy.orm import Session

from pasdienst import ledger
from pasdienst.db import Database


def accounts(session: Session, *specs: tuple[str, bool], ledger_name: str = "t") -> list[int]:
    """Open accounts ``(key, non_negative)`` in one partition; returns ids."""
    return [
        ledger.open_account(session, key=f"{ledger_name}:{key}", kind=key.split("-")[0], ledger=ledger_name, non_negative=nn)
        for key, nn in specs
    ]


def funded(session: Session, cents: int, *, ledger_name: str = "t") -> tuple[int, int, int]:
    """A world account, a non-negative wallet holding ``cents`` and a shop."""
    world, wallet, shop = accounts(
        session, ("world", False), ("wallet", True), ("shop", True), ledger_name=ledger_name
    )
    if cents:
        ledger.transfer(session, kind="topup", source=world, destination=wallet, amount=cents)
    return world, wallet, shop


def scans(session: Session, *tables: str) -> dict[str, tuple[int, int]]:
    """(sequential, index) scans of ``tables`` so far in this transaction."""
    rows = session.execute(
        text(
            "SELECT relname, seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables "
            "WHERE schemaname = current_schema() AND relname = ANY(:tables)"
        ),
        {"tables": list(tables)},
    )
    return {name: (seq, idx) for name, seq, idx in rows}


def tiny_statistics(db: Database, *tables: str) -> None:
    """What autovacuum leaves after the first few rows: statistics of a tiny table.

    Pooled connections are dropped afterwards, so the triggers plan afresh
    from these statistics.
    """
    with db.transaction() as s:
        for table in tables:
            s.execute(text(f"ANALYZE {table}"))
    db.engine.dispose()


def sqlite_trigger_scans(raw: sqlite3.Connection, sql: str, params: tuple) -> tuple[set[str], set[str]]:
    """Tables and indexes the trigger programs of ``sql`` scan whole, and those they seek in."""
    roots = {page: name for name, page in raw.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0")}
    scanned, sought = set(), set()
    cursors: dict[int, str] = {}
    in_trigger = False
    for _addr, opcode, p1, p2, _p3, p4, _p5, _comment in raw.execute(f"EXPLAIN {sql}", params):
        if opcode == "Init":
            in_trigger = str(p4 or "").startswith("-- TRIGGER")
            cursors = {}
        elif not in_trigger:
            continue
        elif opcode == "OpenRead":
            cursors[p1] = roots.get(p2, f"page {p2}")
        elif opcode in ("Rewind", "Last") and p1 in cursors:
            scanned.add(cursors[p1])
        elif opcode in ("SeekGE", "SeekGT", "SeekLE", "SeekLT", "SeekRowid", "NotExists", "Found", "NotFound", "NoConflict") and p1 in cursors:
            sought.add(cursors[p1])
    return scanned, sought

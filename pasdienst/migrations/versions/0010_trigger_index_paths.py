"""trigger index paths: the ledger's and settlement's checks stay keyed lookups

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 00:10:00

On PostgreSQL a PL/pgSQL trigger plans each of its queries once per
connection and keeps that plan; a query without parameters (the checks over
a transition table) keeps its first, generic plan for the life of the
connection. Planned while ``ledger_transfer`` was small (statistics from a
young table, or a first statement that brought many rows), the check became
a scan of the whole table, and a long-lived pooled connection then paid for
every transfer ever written on every new one (docs/benchmarks.md, "The
ledger as it grows").

Each check now probes its table once per new (or deleted) row through a
``LATERAL`` subquery with ``LIMIT 1`` or an aggregate, which the planner
cannot turn into a hash or merge join over the whole table, and the
functions run with ``enable_seqscan = off``, so the probe itself is an index
lookup whatever the statistics say. That setting is scoped to these
functions: every table they read has an index on the column they look up,
so a sequential scan there is never the better plan for more than a few
rows.

SQLite compiles a trigger into each statement that fires it and plans it
from ``sqlite_stat1`` when there is one, without looking at the table's
size: after an ``ANALYZE`` of a young ledger (one transfer: "every posting
has the same transfer_id") the balance check scanned all of
``ledger_posting`` until the next ``ANALYZE``. It now names its index
(``INDEXED BY``: the statement fails to prepare rather than scan). The other
SQLite checks look up a primary key, which SQLite always seeks.
tests/ledger/test_growth.py shows both databases.
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


_SEALED = """CREATE OR REPLACE FUNCTION ledger_posting_sealed() RETURNS trigger LANGUAGE plpgsql{settings} AS $$
       BEGIN
         IF EXISTS ({query}) THEN
           RAISE EXCEPTION 'transfer is already written: its postings are sealed'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NULL;
       END $$"""
_SEALED_PROBE = (
    "SELECT 1 FROM new_postings p CROSS JOIN LATERAL "
    "(SELECT 1 FROM ledger_transfer t WHERE t.id = p.transfer_id LIMIT 1) written"
)
_SEALED_JOIN = "SELECT 1 FROM new_postings p JOIN ledger_transfer t ON t.id = p.transfer_id"

_ITEM_FROZEN = """CREATE OR REPLACE FUNCTION settlement_item_frozen() RETURNS trigger LANGUAGE plpgsql{settings} AS $$
       BEGIN
         IF EXISTS ({query}) THEN
           RAISE EXCEPTION 'settlement_item of a batch that is no longer a draft cannot change'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NULL;
       END $$"""
# Cancelling a draft deletes all its items: one probe per batch, not per item.
_ITEM_FROZEN_PROBE = (
    "SELECT 1 FROM (SELECT DISTINCT batch_id FROM gone) g CROSS JOIN LATERAL "
    "(SELECT b.status FROM settlement_batch b WHERE b.id = g.batch_id LIMIT 1) b WHERE b.status <> 'draft'"
)
_ITEM_FROZEN_JOIN = "SELECT 1 FROM gone JOIN settlement_batch b ON b.id = gone.batch_id WHERE b.status <> 'draft'"

_INDEX_ONLY = "\n       SET enable_seqscan = off"

#: Functions whose queries were already per-row lookups: only the setting changes.
_SETTING_ONLY = ("ledger_transfer_balanced", "settlement_line_frozen")


_SQLITE_BALANCED = """CREATE TRIGGER ledger_transfer_balanced AFTER INSERT ON ledger_transfer
       WHEN (SELECT count(*) < 2 OR sum(amount) <> 0
                    OR coalesce(sum(CASE WHEN amount > 0 THEN amount END), 0) <> NEW.amount
             FROM ledger_posting{indexed} WHERE transfer_id = NEW.id)
       BEGIN SELECT RAISE(ABORT, 'transfer does not balance: postings must sum to zero, at least two'); END"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER ledger_transfer_balanced")
        op.execute(_SQLITE_BALANCED.format(indexed=" INDEXED BY ix_ledger_posting_transfer_id"))
        return
    op.execute(_SEALED.format(settings=_INDEX_ONLY, query=_SEALED_PROBE))
    op.execute(_ITEM_FROZEN.format(settings=_INDEX_ONLY, query=_ITEM_FROZEN_PROBE))
    for name in _SETTING_ONLY:
        op.execute(f"ALTER FUNCTION {name}() SET enable_seqscan = off")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER ledger_transfer_balanced")
        op.execute(_SQLITE_BALANCED.format(indexed=""))
        return
    for name in _SETTING_ONLY:
        op.execute(f"ALTER FUNCTION {name}() RESET enable_seqscan")
    # CREATE OR REPLACE without a SET clause also drops the function's settings.
    op.execute(_ITEM_FROZEN.format(settings="", query=_ITEM_FROZEN_JOIN))
    op.execute(_SEALED.format(settings="", query=_SEALED_JOIN))

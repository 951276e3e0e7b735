"""derived balances: merchant payables stop caching a balance

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 16:45:00

Every redemption credits its merchant's payable. With a cached balance that
is one row all tills of a merchant update, and on PostgreSQL they queue on
its row lock until each other's COMMIT (docs/benchmarks.md). Such accounts
now keep no balance: it is the sum of their postings, read when needed
(settlement reads it per batch, not per redemption). A derived balance
cannot be guarded by the ledger, so these accounts are not ``non_negative``;
settlement keeps its own rule (pasdienst/settlement/batches.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance_cached', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(
        "UPDATE ledger_account SET balance_cached = false, non_negative = false, balance = 0 "
        "WHERE kind = 'merchant_payable'"
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.create_check_constraint('guard_needs_cached_balance', 'non_negative = false OR balance_cached = true')
        batch_op.create_check_constraint('derived_balance_unused', 'balance_cached = true OR balance = 0')


def downgrade() -> None:
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ledger_account_derived_balance_unused'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_ledger_account_guard_needs_cached_balance'), type_='check')
    op.execute(
        "UPDATE ledger_account SET balance = coalesce("
        "(SELECT sum(p.amount) FROM ledger_posting p WHERE p.account_id = ledger_account.id), 0), "
        "non_negative = true WHERE balance_cached = false"
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_column('balance_cached')

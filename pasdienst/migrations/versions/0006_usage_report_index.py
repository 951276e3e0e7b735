"""usage report index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 15:14:51.848327

One covering index on ``redemption`` for the usage report
(``pasdienst/reports/models.py``): the report reads every redemption of a
year's passes three times, and on SQLite this saves fetching each row.
"""
from __future__ import annotations

from alembic import op

revision = '0006'
# A parallel branch to 0007 (admin); the heads are merged later.
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.create_index(
            'ix_redemption_report',
            ['pass_id', 'voided_at', 'created_at', 'amount_cents', 'merchant_id', 'voucher_id'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_index('ix_redemption_report')

"""a maatwerk award's withdrawal says why: a reason from a short list, and a note

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 14:00:00

``maatwerk_award.withdraw_reason`` (``maatwerk.models.WITHDRAW_REASONS``;
``other`` needs a note) and ``withdraw_note``. Awards withdrawn before this
revision keep no reason (NULL): nobody was asked one then.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('maatwerk_award', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdraw_reason', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('withdraw_note', sa.String(length=300), nullable=True))
        batch_op.create_check_constraint(
            'withdraw_reason_known',
            "withdraw_reason IS NULL OR (withdrawn_at IS NOT NULL AND "
            "withdraw_reason IN ('mistake', 'not_needed', 'moved', 'duplicate', 'other'))",
        )


def downgrade() -> None:
    with op.batch_alter_table('maatwerk_award', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_maatwerk_award_withdraw_reason_known'), type_='check')
        batch_op.drop_column('withdraw_note')
        batch_op.drop_column('withdraw_reason')

"""scheme mid_year: budgets of children entering mid-year in full or pro rata

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:00:00

Existing schemes keep giving the whole budget ("full"), as before.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wallet_scheme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mid_year', sa.String(length=16), server_default='full', nullable=False))
        batch_op.create_check_constraint('mid_year', "mid_year IN ('full', 'pro_rata')")


def downgrade() -> None:
    with op.batch_alter_table('wallet_scheme', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_wallet_scheme_mid_year'), type_='check')
        batch_op.drop_column('mid_year')

"""redeem_refusal.till: which till login a refusal came from

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 09:00:00

Wrong typed codes are counted per till login (its login session or API
token) as well as per merchant. Earlier refusals have none: they count for
the merchant only.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('redeem_refusal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('till', sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('redeem_refusal', schema=None) as batch_op:
        batch_op.drop_column('till')

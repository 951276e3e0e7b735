"""merchant place, offer and website: what the pass page and the letter list

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 10:00:00

Where a family can spend its pass: per voucher, the approved merchants that
take it, with their town, what they offer and a link. All optional.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('offer', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('website')
        batch_op.drop_column('offer')
        batch_op.drop_column('place')

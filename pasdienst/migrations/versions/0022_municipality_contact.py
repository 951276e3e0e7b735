"""municipality contact details: whom a family calls about its pass

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 08:00:00

Phone number, e-mail address, web address, desk address and opening hours,
set by the municipality's admin and shown on the pass page and the letters
where they said only "neem contact op met Gemeente …". All optional.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_website', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('contact_desk', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('contact_hours', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.drop_column('contact_hours')
        batch_op.drop_column('contact_desk')
        batch_op.drop_column('contact_website')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_phone')

"""merge the usage-report and admin branches

Revision ID: 0008
Revises: 0006, 0007
Create Date: 2026-11-24 16:30:00

0006 and 0007 were written in parallel on top of 0005; from here on there is
one head again. No schema change.
"""
from __future__ import annotations

revision = '0008'
down_revision = ('0006', '0007')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

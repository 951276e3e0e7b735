"""login sessions: logout and a new password end a session on the server

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:00:00

The session cookie names a row here by a random key (stored as its SHA-256);
logout deletes the row, so a copied cookie stops working. Cookies from
before this revision name no row: their users log in once more.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['access_user.id'], name=op.f('fk_access_session_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_access_session_key_hash'))
    )
    with op.batch_alter_table('access_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_session_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_session_user_id'))
    op.drop_table('access_session')

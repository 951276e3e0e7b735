"""four eyes: account sponsors and requests a second admin confirms

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 10:00:00

``access_user.sponsor_user_id`` is the admin who asked for an account or for
its last password reset (and so saw its one-time password); existing
accounts get none, as if the operator had made them. ``four_eyes_request``
holds new admin and finance accounts, their password resets and merchant
approvals until a second admin confirms them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('access_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sponsor_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_access_user_sponsor_user_id_access_user'), 'access_user', ['sponsor_user_id'], ['id']
        )

    op.create_table('four_eyes_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.CheckConstraint("kind IN ('user.create', 'user.password_reset', 'merchant.approve')", name=op.f('ck_four_eyes_request_kind_known')),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'cancelled')", name=op.f('ck_four_eyes_request_status_known')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['access_user.id'], name=op.f('fk_four_eyes_request_decided_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_four_eyes_request_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_four_eyes_request_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['access_user.id'], name=op.f('fk_four_eyes_request_requested_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['user_id'], ['access_user.id'], name=op.f('fk_four_eyes_request_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_four_eyes_request'))
    )
    with op.batch_alter_table('four_eyes_request', schema=None) as batch_op:
        batch_op.create_index('ix_four_eyes_request_municipality_id_status', ['municipality_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('four_eyes_request', schema=None) as batch_op:
        batch_op.drop_index('ix_four_eyes_request_municipality_id_status')
    op.drop_table('four_eyes_request')
    with op.batch_alter_table('access_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_access_user_sponsor_user_id_access_user'), type_='foreignkey')
        batch_op.drop_column('sponsor_user_id')

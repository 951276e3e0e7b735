"""admin: caseworker caps and awards, IBAN change requests

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-24 14:25:11.055667
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
# After 0005 (settlement), the newest head when this was written; 0006 (reports)
# did not exist yet: the lead merges the heads.
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('caseworker_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['wallet_child.id'], name=op.f('fk_caseworker_award_child_id_wallet_child')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_caseworker_award_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['pass_id'], ['wallet_pass.id'], name=op.f('fk_caseworker_award_pass_id_wallet_pass')),
    sa.ForeignKeyConstraint(['user_id'], ['access_user.id'], name=op.f('fk_caseworker_award_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caseworker_award')),
    sa.UniqueConstraint('pass_id', name=op.f('uq_caseworker_award_pass_id'))
    )
    with op.batch_alter_table('caseworker_award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caseworker_award_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_index('ix_caseworker_award_user_id_year', ['user_id', 'year'], unique=False)

    op.create_table('caseworker_cap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('max_passes', sa.Integer(), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('max_passes >= 0', name=op.f('ck_caseworker_cap_max_passes_not_negative')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_caseworker_cap_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['access_user.id'], name=op.f('fk_caseworker_cap_updated_by_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caseworker_cap')),
    sa.UniqueConstraint('municipality_id', 'year', name='uq_caseworker_cap_municipality_id_year')
    )
    op.create_table('merchant_iban_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('old_iban', sa.String(length=34), nullable=False),
    sa.Column('old_bic', sa.String(length=11), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name=op.f('ck_merchant_iban_change_status_known')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['access_user.id'], name=op.f('fk_merchant_iban_change_decided_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_merchant_iban_change_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_merchant_iban_change_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['access_user.id'], name=op.f('fk_merchant_iban_change_requested_by_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_iban_change'))
    )
    with op.batch_alter_table('merchant_iban_change', schema=None) as batch_op:
        batch_op.create_index('ix_merchant_iban_change_merchant_id_status', ['merchant_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_iban_change_municipality_id'), ['municipality_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('merchant_iban_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_iban_change_municipality_id'))
        batch_op.drop_index('ix_merchant_iban_change_merchant_id_status')

    op.drop_table('merchant_iban_change')
    op.drop_table('caseworker_cap')
    with op.batch_alter_table('caseworker_award', schema=None) as batch_op:
        batch_op.drop_index('ix_caseworker_award_user_id_year')
        batch_op.drop_index(batch_op.f('ix_caseworker_award_municipality_id'))

    op.drop_table('caseworker_award')

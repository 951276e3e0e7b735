"""cooperations: municipalities that run one kindpakket together, their members and merchants

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 10:00:00

``cooperation`` (with its lead municipality and who pays the merchants),
``cooperation_member`` (invited, then active once the member's admin
agreed; one cooperation per municipality), ``cooperation_merchant`` (a
merchant admitted by its own municipality) and ``cooperation_payable`` (an
admitted merchant's payable in another member's ledger partition, which the
till credits for that member's children).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cooperation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lead_municipality_id', sa.Integer(), nullable=False),
    sa.Column('payout', sa.String(length=16), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("payout IN ('members', 'cooperation')", name=op.f('ck_cooperation_payout_known')),
    sa.ForeignKeyConstraint(['lead_municipality_id'], ['municipality.id'], name=op.f('fk_cooperation_lead_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cooperation')),
    sa.UniqueConstraint('code', name=op.f('uq_cooperation_code'))
    )
    op.create_table('cooperation_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cooperation_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('joined_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('invited', 'active')", name=op.f('ck_cooperation_member_status_known')),
    sa.ForeignKeyConstraint(['cooperation_id'], ['cooperation.id'], name=op.f('fk_cooperation_member_cooperation_id_cooperation')),
    sa.ForeignKeyConstraint(['joined_by_user_id'], ['access_user.id'], name=op.f('fk_cooperation_member_joined_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_cooperation_member_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cooperation_member')),
    sa.UniqueConstraint('municipality_id', name=op.f('uq_cooperation_member_municipality_id'))
    )
    with op.batch_alter_table('cooperation_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cooperation_member_cooperation_id'), ['cooperation_id'], unique=False)

    op.create_table('cooperation_merchant',
    sa.Column('merchant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('cooperation_id', sa.Integer(), nullable=False),
    sa.Column('admitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('admitted_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['admitted_by_user_id'], ['access_user.id'], name=op.f('fk_cooperation_merchant_admitted_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['cooperation_id'], ['cooperation.id'], name=op.f('fk_cooperation_merchant_cooperation_id_cooperation')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_cooperation_merchant_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_cooperation_merchant'))
    )
    with op.batch_alter_table('cooperation_merchant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cooperation_merchant_cooperation_id'), ['cooperation_id'], unique=False)

    op.create_table('cooperation_payable',
    sa.Column('merchant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('municipality_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('cooperation_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_cooperation_payable_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['cooperation_id'], ['cooperation.id'], name=op.f('fk_cooperation_payable_cooperation_id_cooperation')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_cooperation_payable_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_cooperation_payable_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('merchant_id', 'municipality_id', name=op.f('pk_cooperation_payable')),
    sa.UniqueConstraint('account_id', name=op.f('uq_cooperation_payable_account_id'))
    )
    with op.batch_alter_table('cooperation_payable', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cooperation_payable_cooperation_id'), ['cooperation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cooperation_payable', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperation_payable_cooperation_id'))
    op.drop_table('cooperation_payable')
    with op.batch_alter_table('cooperation_merchant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperation_merchant_cooperation_id'))
    op.drop_table('cooperation_merchant')
    with op.batch_alter_table('cooperation_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperation_member_cooperation_id'))
    op.drop_table('cooperation_member')
    op.drop_table('cooperation')

"""wallet: schemes, children, passes, vouchers and QR images

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 13:43:33.573178
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_child',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('child_ref', sa.String(length=64), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('household_ref', sa.String(length=64), nullable=True),
    sa.Column('income_sealed', sa.Text(), nullable=True),
    sa.Column('override_reason', sa.String(length=500), nullable=True),
    sa.Column('bsn_hash', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('postcode', sa.String(length=7), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_wallet_child_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_child')),
    sa.UniqueConstraint('municipality_id', 'bsn_hash', name=op.f('uq_wallet_child_municipality_bsn')),
    sa.UniqueConstraint('municipality_id', 'child_ref', name=op.f('uq_wallet_child_municipality_ref'))
    )
    op.create_table('wallet_scheme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('income_limit', sa.Integer(), nullable=False),
    sa.Column('sliding_scale', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid_from <= valid_until', name=op.f('ck_wallet_scheme_dates_in_order')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_wallet_scheme_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_scheme')),
    sa.UniqueConstraint('municipality_id', 'year', name=op.f('uq_wallet_scheme_municipality_year'))
    )
    op.create_table('wallet_pass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('handle', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('award_basis', sa.String(length=16), nullable=False),
    sa.Column('award_share', sa.Integer(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('block_reason', sa.String(length=500), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("award_basis IN ('full', 'sliding', 'override')", name=op.f('ck_wallet_pass_award_basis')),
    sa.CheckConstraint("status IN ('active', 'blocked', 'replaced', 'expired')", name=op.f('ck_wallet_pass_status')),
    sa.CheckConstraint('award_share > 0 AND award_share <= 10000', name=op.f('ck_wallet_pass_award_share')),
    sa.ForeignKeyConstraint(['child_id'], ['wallet_child.id'], name=op.f('fk_wallet_pass_child_id_wallet_child')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_wallet_pass_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['replaces_id'], ['wallet_pass.id'], name=op.f('fk_wallet_pass_replaces_id_wallet_pass')),
    sa.ForeignKeyConstraint(['scheme_id'], ['wallet_scheme.id'], name=op.f('fk_wallet_pass_scheme_id_wallet_scheme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_pass')),
    sa.UniqueConstraint('child_id', 'year', 'generation', name=op.f('uq_wallet_pass_child_year_generation')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_wallet_pass_code_hash')),
    sa.UniqueConstraint('handle', name=op.f('uq_wallet_pass_handle')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_wallet_pass_replaces_id'))
    )
    with op.batch_alter_table('wallet_pass', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_pass_municipality_year_status', ['municipality_id', 'year', 'status'], unique=False)

    op.create_table('wallet_scheme_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('strips', sa.Integer(), nullable=True),
    sa.Column('strip_value_cents', sa.BigInteger(), nullable=True),
    sa.Column('age_min', sa.Integer(), nullable=False),
    sa.Column('age_max', sa.Integer(), nullable=False),
    sa.CheckConstraint("(kind = 'punchcard') = (strips IS NOT NULL AND strip_value_cents IS NOT NULL)", name=op.f('ck_wallet_scheme_item_punchcard_strips')),
    sa.CheckConstraint("kind IN ('budget', 'punchcard', 'cheque')", name=op.f('ck_wallet_scheme_item_kind')),
    sa.CheckConstraint('age_min >= 0 AND age_min <= age_max', name=op.f('ck_wallet_scheme_item_ages')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_wallet_scheme_item_amount_positive')),
    sa.ForeignKeyConstraint(['scheme_id'], ['wallet_scheme.id'], name=op.f('fk_wallet_scheme_item_scheme_id_wallet_scheme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_scheme_item'))
    )
    with op.batch_alter_table('wallet_scheme_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_scheme_item_scheme_id'), ['scheme_id'], unique=False)

    op.create_table('wallet_pass_image',
    sa.Column('pass_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=False),
    sa.Column('svg', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pass_id'], ['wallet_pass.id'], name=op.f('fk_wallet_pass_image_pass_id_wallet_pass')),
    sa.PrimaryKeyConstraint('pass_id', name=op.f('pk_wallet_pass_image'))
    )
    op.create_table('wallet_voucher',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('initial_cents', sa.BigInteger(), nullable=False),
    sa.Column('strip_value_cents', sa.BigInteger(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('carried_from_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'punchcard') = (strip_value_cents IS NOT NULL AND strip_value_cents > 0)", name=op.f('ck_wallet_voucher_strip_value')),
    sa.CheckConstraint("kind IN ('budget', 'punchcard', 'cheque')", name=op.f('ck_wallet_voucher_kind')),
    sa.CheckConstraint('initial_cents >= 0', name=op.f('ck_wallet_voucher_initial_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_wallet_voucher_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['carried_from_id'], ['wallet_voucher.id'], name=op.f('fk_wallet_voucher_carried_from_id_wallet_voucher')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_wallet_voucher_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['pass_id'], ['wallet_pass.id'], name=op.f('fk_wallet_voucher_pass_id_wallet_pass')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_voucher')),
    sa.UniqueConstraint('account_id', name=op.f('uq_wallet_voucher_account_id')),
    sa.UniqueConstraint('carried_from_id', name=op.f('uq_wallet_voucher_carried_from_id'))
    )
    with op.batch_alter_table('wallet_voucher', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_voucher_pass_id'), ['pass_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wallet_voucher', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_voucher_pass_id'))

    op.drop_table('wallet_voucher')
    op.drop_table('wallet_pass_image')
    with op.batch_alter_table('wallet_scheme_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_scheme_item_scheme_id'))

    op.drop_table('wallet_scheme_item')
    with op.batch_alter_table('wallet_pass', schema=None) as batch_op:
        batch_op.drop_index('ix_wallet_pass_municipality_year_status')

    op.drop_table('wallet_pass')
    op.drop_table('wallet_scheme')
    op.drop_table('wallet_child')

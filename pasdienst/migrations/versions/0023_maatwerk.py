"""maatwerk: teams of case workers with a yearly euro budget, funds with their own money, their awards

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 08:00:00

``maatwerk_team`` (a gebiedsteam), ``maatwerk_team_member`` (a case worker's
one team), ``maatwerk_team_budget`` (what a team may award in a year),
``maatwerk_fund`` (an intermediary organisation with its two ledger
accounts), ``maatwerk_fund_member`` (a login of the new role ``fund`` and
its fund) and ``maatwerk_award`` (an amount for a purpose on a child's pass,
by a team or a fund). ``access_user.role`` may now be ``fund``.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_ROLES_BEFORE = "role IN ('admin', 'finance', 'caseworker', 'merchant')"
_ROLES_AFTER = "role IN ('admin', 'finance', 'caseworker', 'merchant', 'fund')"


def upgrade() -> None:
    with op.batch_alter_table('access_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_access_user_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', _ROLES_AFTER)

    op.create_table('maatwerk_team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_maatwerk_team_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maatwerk_team')),
    sa.UniqueConstraint('municipality_id', 'name', name='uq_maatwerk_team_municipality_id_name')
    )
    op.create_table('maatwerk_team_member',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['maatwerk_team.id'], name=op.f('fk_maatwerk_team_member_team_id_maatwerk_team')),
    sa.ForeignKeyConstraint(['user_id'], ['access_user.id'], name=op.f('fk_maatwerk_team_member_user_id_access_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_maatwerk_team_member'))
    )
    with op.batch_alter_table('maatwerk_team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maatwerk_team_member_team_id'), ['team_id'], unique=False)

    op.create_table('maatwerk_team_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('budget_cents', sa.BigInteger(), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_cents >= 0', name=op.f('ck_maatwerk_team_budget_budget_not_negative')),
    sa.ForeignKeyConstraint(['team_id'], ['maatwerk_team.id'], name=op.f('fk_maatwerk_team_budget_team_id_maatwerk_team')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['access_user.id'], name=op.f('fk_maatwerk_team_budget_updated_by_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maatwerk_team_budget')),
    sa.UniqueConstraint('team_id', 'year', name='uq_maatwerk_team_budget_team_id_year')
    )
    op.create_table('maatwerk_fund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('source_account_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_maatwerk_fund_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_maatwerk_fund_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['source_account_id'], ['ledger_account.id'], name=op.f('fk_maatwerk_fund_source_account_id_ledger_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maatwerk_fund')),
    sa.UniqueConstraint('account_id', name=op.f('uq_maatwerk_fund_account_id')),
    sa.UniqueConstraint('municipality_id', 'name', name='uq_maatwerk_fund_municipality_id_name'),
    sa.UniqueConstraint('source_account_id', name=op.f('uq_maatwerk_fund_source_account_id'))
    )
    op.create_table('maatwerk_fund_member',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['maatwerk_fund.id'], name=op.f('fk_maatwerk_fund_member_fund_id_maatwerk_fund')),
    sa.ForeignKeyConstraint(['user_id'], ['access_user.id'], name=op.f('fk_maatwerk_fund_member_user_id_access_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_maatwerk_fund_member'))
    )
    with op.batch_alter_table('maatwerk_fund_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maatwerk_fund_member_fund_id'), ['fund_id'], unique=False)

    op.create_table('maatwerk_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('fund_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_user_id', sa.Integer(), nullable=True),
    sa.Column('returned_cents', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('(team_id IS NULL) <> (fund_id IS NULL)', name=op.f('ck_maatwerk_award_team_or_fund')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_maatwerk_award_amount_positive')),
    sa.CheckConstraint("reason IN ('membership', 'equipment', 'school_trip', 'lessons', 'other')", name=op.f('ck_maatwerk_award_reason_known')),
    sa.CheckConstraint('(withdrawn_at IS NULL AND returned_cents IS NULL) OR (withdrawn_at IS NOT NULL AND returned_cents >= 0 AND returned_cents <= amount_cents)', name=op.f('ck_maatwerk_award_withdrawn_returns')),
    sa.ForeignKeyConstraint(['child_id'], ['wallet_child.id'], name=op.f('fk_maatwerk_award_child_id_wallet_child')),
    sa.ForeignKeyConstraint(['fund_id'], ['maatwerk_fund.id'], name=op.f('fk_maatwerk_award_fund_id_maatwerk_fund')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_maatwerk_award_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_maatwerk_award_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['team_id'], ['maatwerk_team.id'], name=op.f('fk_maatwerk_award_team_id_maatwerk_team')),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfer.id'], name=op.f('fk_maatwerk_award_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['user_id'], ['access_user.id'], name=op.f('fk_maatwerk_award_user_id_access_user')),
    sa.ForeignKeyConstraint(['voucher_id'], ['wallet_voucher.id'], name=op.f('fk_maatwerk_award_voucher_id_wallet_voucher')),
    sa.ForeignKeyConstraint(['withdrawn_by_user_id'], ['access_user.id'], name=op.f('fk_maatwerk_award_withdrawn_by_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maatwerk_award')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_maatwerk_award_idempotency_key')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_maatwerk_award_transfer_id')),
    sa.UniqueConstraint('voucher_id', name=op.f('uq_maatwerk_award_voucher_id'))
    )
    with op.batch_alter_table('maatwerk_award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maatwerk_award_child_id'), ['child_id'], unique=False)
        batch_op.create_index('ix_maatwerk_award_fund_id_year', ['fund_id', 'year'], unique=False)
        batch_op.create_index('ix_maatwerk_award_municipality_id_year', ['municipality_id', 'year'], unique=False)
        batch_op.create_index('ix_maatwerk_award_team_id_year', ['team_id', 'year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('maatwerk_award', schema=None) as batch_op:
        batch_op.drop_index('ix_maatwerk_award_team_id_year')
        batch_op.drop_index('ix_maatwerk_award_municipality_id_year')
        batch_op.drop_index('ix_maatwerk_award_fund_id_year')
        batch_op.drop_index(batch_op.f('ix_maatwerk_award_child_id'))
    op.drop_table('maatwerk_award')
    with op.batch_alter_table('maatwerk_fund_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maatwerk_fund_member_fund_id'))
    op.drop_table('maatwerk_fund_member')
    op.drop_table('maatwerk_fund')
    op.drop_table('maatwerk_team_budget')
    with op.batch_alter_table('maatwerk_team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maatwerk_team_member_team_id'))
    op.drop_table('maatwerk_team_member')
    op.drop_table('maatwerk_team')
    # A database that has logins of a fund refuses this step (their role is unknown before this
    # revision): they are people with audit events, not rows to drop quietly.
    with op.batch_alter_table('access_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_access_user_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', _ROLES_BEFORE)

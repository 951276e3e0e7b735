"""cooperation runs: one payment file from the cooperation's account for its members' batches

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 14:00:00

``cooperation_run`` (remitted → exported → paid), ``cooperation_remittance``
(a member's approved batch in a run, with the two labelled transfers that
moved its share into the cooperation's partition) and ``cooperation_payment``
(one credit transfer per merchant of the run's file).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cooperation_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cooperation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_until', sa.Date(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('execution_date', sa.Date(), nullable=True),
    sa.Column('sepa_schema', sa.String(length=20), nullable=True),
    sa.Column('debtor_name', sa.String(length=200), nullable=True),
    sa.Column('debtor_iban', sa.String(length=34), nullable=True),
    sa.Column('debtor_bic', sa.String(length=11), nullable=True),
    sa.Column('paid_by_user_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payout_transfer_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("status IN ('remitted', 'exported', 'paid')", name=op.f('ck_cooperation_run_status_known')),
    sa.CheckConstraint('count > 0 AND total_cents > 0', name=op.f('ck_cooperation_run_totals_positive')),
    sa.ForeignKeyConstraint(['cooperation_id'], ['cooperation.id'], name=op.f('fk_cooperation_run_cooperation_id_cooperation')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['access_user.id'], name=op.f('fk_cooperation_run_created_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['paid_by_user_id'], ['access_user.id'], name=op.f('fk_cooperation_run_paid_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['payout_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_cooperation_run_payout_transfer_id_ledger_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cooperation_run')),
    sa.UniqueConstraint('payout_transfer_id', name=op.f('uq_cooperation_run_payout_transfer_id'))
    )
    with op.batch_alter_table('cooperation_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cooperation_run_cooperation_id'), ['cooperation_id'], unique=False)

    op.create_table('cooperation_remittance',
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('member_transfer_id', sa.Uuid(), nullable=False),
    sa.Column('cooperation_transfer_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_cooperation_remittance_amount_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['settlement_batch.id'], name=op.f('fk_cooperation_remittance_batch_id_settlement_batch')),
    sa.ForeignKeyConstraint(['cooperation_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_cooperation_remittance_cooperation_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['member_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_cooperation_remittance_member_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_cooperation_remittance_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['run_id'], ['cooperation_run.id'], name=op.f('fk_cooperation_remittance_run_id_cooperation_run')),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_cooperation_remittance')),
    sa.UniqueConstraint('cooperation_transfer_id', name=op.f('uq_cooperation_remittance_cooperation_transfer_id')),
    sa.UniqueConstraint('member_transfer_id', name=op.f('uq_cooperation_remittance_member_transfer_id'))
    )
    with op.batch_alter_table('cooperation_remittance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cooperation_remittance_run_id'), ['run_id'], unique=False)

    op.create_table('cooperation_payment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('creditor_name', sa.String(length=200), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=False),
    sa.Column('creditor_bic', sa.String(length=11), nullable=True),
    sa.CheckConstraint('amount_cents > 0 AND count > 0', name=op.f('ck_cooperation_payment_amount_positive')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_cooperation_payment_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['run_id'], ['cooperation_run.id'], name=op.f('fk_cooperation_payment_run_id_cooperation_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cooperation_payment')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_cooperation_payment_end_to_end_id'))
    )
    with op.batch_alter_table('cooperation_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cooperation_payment_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cooperation_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperation_payment_run_id'))
    op.drop_table('cooperation_payment')
    with op.batch_alter_table('cooperation_remittance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperation_remittance_run_id'))
    op.drop_table('cooperation_remittance')
    with op.batch_alter_table('cooperation_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperation_run_cooperation_id'))
    op.drop_table('cooperation_run')

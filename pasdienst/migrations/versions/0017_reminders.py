"""reminders: moments, the log of e-mails sent, the children they named, addresses that opted out

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_opt_out',
    sa.Column('municipality_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_mail_opt_out_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('municipality_id', 'email_hash', name=op.f('pk_mail_opt_out'))
    )
    op.create_table('reminder_moment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('send_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('under_cents', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('planned', 'started', 'cancelled')", name=op.f('ck_reminder_moment_state')),
    sa.CheckConstraint('under_cents IS NULL OR under_cents > 0', name=op.f('ck_reminder_moment_under_positive')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['access_user.id'], name=op.f('fk_reminder_moment_created_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_reminder_moment_job_id_job')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_reminder_moment_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_moment'))
    )
    with op.batch_alter_table('reminder_moment', schema=None) as batch_op:
        batch_op.create_index('ix_reminder_moment_municipality_id_year', ['municipality_id', 'year'], unique=False)
        batch_op.create_index('ix_reminder_moment_state_send_on', ['state', 'send_on'], unique=False)

    op.create_table('reminder_send',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('moment_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('sending', 'sent', 'failed', 'unknown')", name=op.f('ck_reminder_send_outcome')),
    sa.CheckConstraint('children > 0', name=op.f('ck_reminder_send_children_positive')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_reminder_send_job_id_job')),
    sa.ForeignKeyConstraint(['moment_id'], ['reminder_moment.id'], name=op.f('fk_reminder_send_moment_id_reminder_moment')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_reminder_send_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_send')),
    sa.UniqueConstraint('moment_id', 'email', name='uq_reminder_send_moment_email')
    )
    op.create_table('reminder_child',
    sa.Column('send_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('child_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['wallet_child.id'], name=op.f('fk_reminder_child_child_id_wallet_child')),
    sa.ForeignKeyConstraint(['send_id'], ['reminder_send.id'], name=op.f('fk_reminder_child_send_id_reminder_send')),
    sa.PrimaryKeyConstraint('send_id', 'child_id', name=op.f('pk_reminder_child'))
    )
    with op.batch_alter_table('reminder_child', schema=None) as batch_op:
        batch_op.create_index('ix_reminder_child_child_id', ['child_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reminder_child', schema=None) as batch_op:
        batch_op.drop_index('ix_reminder_child_child_id')

    op.drop_table('reminder_child')
    op.drop_table('reminder_send')
    with op.batch_alter_table('reminder_moment', schema=None) as batch_op:
        batch_op.drop_index('ix_reminder_moment_state_send_on')
        batch_op.drop_index('ix_reminder_moment_municipality_id_year')

    op.drop_table('reminder_moment')
    op.drop_table('mail_opt_out')

"""jobs: background jobs started from the web (issuing, letters, year end)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 00:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
        sa.Column('requested_by_email', sa.String(length=254), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('error_detail', sa.Text(), nullable=True),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('file_mime', sa.String(length=100), nullable=True),
        sa.Column('file_data', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_job_known_state')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_job_attempts_not_negative')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_job_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['requested_by_user_id'], ['access_user.id'], name=op.f('fk_job_requested_by_user_id_access_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    )
    op.create_index('ix_job_municipality_id_created_at', 'job', ['municipality_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_municipality_id_created_at', table_name='job')
    op.drop_table('job')

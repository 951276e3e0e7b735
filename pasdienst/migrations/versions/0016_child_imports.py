"""child imports: each imported children file, and the file that last wrote each child

Revision ID: 0016
Revises: 0015
Create Date: 2027-01-05 10:00:00

``wallet_child_import`` records each children file (its name, when, how many
children it added and changed); ``wallet_child.import_id`` names the file
that added the child or last changed its data, so the back office can list
the children of one file. Children imported before this revision name none.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_child_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_wallet_child_import_municipality_id_municipality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_child_import'))
    )
    with op.batch_alter_table('wallet_child_import', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_child_import_municipality_id_imported_at', ['municipality_id', 'imported_at'], unique=False)

    with op.batch_alter_table('wallet_child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_wallet_child_import_id_wallet_child_import'), 'wallet_child_import', ['import_id'], ['id']
        )
        batch_op.create_index(batch_op.f('ix_wallet_child_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wallet_child', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_child_import_id'))
        batch_op.drop_constraint(batch_op.f('fk_wallet_child_import_id_wallet_child_import'), type_='foreignkey')
        batch_op.drop_column('import_id')
    with op.batch_alter_table('wallet_child_import', schema=None) as batch_op:
        batch_op.drop_index('ix_wallet_child_import_municipality_id_imported_at')
    op.drop_table('wallet_child_import')

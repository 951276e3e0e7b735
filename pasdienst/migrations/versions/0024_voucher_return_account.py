"""vouchers name where their unused money goes back: a fund's award to the fund's own account

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 09:00:00

``wallet_voucher.return_account_id``: None (every voucher so far) is the
municipality's fund; a fund's maatwerk award names the fund's account, so
year end and a void after it return its unused money there (``fund_return``)
instead of to the municipality's fund.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wallet_voucher', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_account_id', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_wallet_voucher_return_account_id_ledger_account'), 'ledger_account',
            ['return_account_id'], ['id'],
        )
    # The fund awards made before this revision: their vouchers (and reissued successors share the code).
    op.execute(
        "UPDATE wallet_voucher SET return_account_id = ("
        " SELECT f.account_id FROM maatwerk_award a JOIN maatwerk_fund f ON f.id = a.fund_id"
        " WHERE wallet_voucher.code = 'maatwerk-' || CAST(a.id AS VARCHAR)"
        "   AND wallet_voucher.municipality_id = a.municipality_id)"
        " WHERE code LIKE 'maatwerk-%'"
    )


def downgrade() -> None:
    with op.batch_alter_table('wallet_voucher', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_wallet_voucher_return_account_id_ledger_account'), type_='foreignkey')
        batch_op.drop_column('return_account_id')

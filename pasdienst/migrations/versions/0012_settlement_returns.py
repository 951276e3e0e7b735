"""settlement returns: payments the bank sent back

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 10:00:00

A return (recorded by one finance user, confirmed by another) takes a line
of an approved, exported or paid batch back: the line is kept, a
``settlement_returned_line`` row says it came back, and its redemptions are
released from ``settlement_item`` so that the next batch takes them again.
The trigger that froze the items of a batch past its draft therefore now
lets go of exactly the items of a returned line. Returned lines are
append-only.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('settlement_return',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("status IN ('requested', 'confirmed', 'withdrawn')", name=op.f('ck_settlement_return_status_known')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_settlement_return_amount_not_negative')),
    sa.ForeignKeyConstraint(['batch_id'], ['settlement_batch.id'], name=op.f('fk_settlement_return_batch_id_settlement_batch')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['access_user.id'], name=op.f('fk_settlement_return_decided_by_user_id_access_user')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_settlement_return_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['access_user.id'], name=op.f('fk_settlement_return_requested_by_user_id_access_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_return'))
    )
    with op.batch_alter_table('settlement_return', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_return_batch_id'), ['batch_id'], unique=False)

    op.create_table('settlement_returned_item',
    sa.Column('line_id', sa.BigInteger(), nullable=False),
    sa.Column('redemption_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('line_id', 'redemption_id', name=op.f('pk_settlement_returned_item'))
    )
    op.create_table('settlement_returned_line',
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('return_id', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('batch_status', sa.String(length=16), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reversal_transfer_id', sa.Uuid(), nullable=False),
    sa.Column('refund_transfer_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("batch_status IN ('approved', 'exported', 'paid')", name=op.f('ck_settlement_returned_line_batch_status_known')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_settlement_returned_line_amount_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['settlement_batch.id'], name=op.f('fk_settlement_returned_line_batch_id_settlement_batch')),
    sa.ForeignKeyConstraint(['line_id'], ['settlement_line.id'], name=op.f('fk_settlement_returned_line_line_id_settlement_line')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_settlement_returned_line_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['refund_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_settlement_returned_line_refund_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['return_id'], ['settlement_return.id'], name=op.f('fk_settlement_returned_line_return_id_settlement_return')),
    sa.ForeignKeyConstraint(['reversal_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_settlement_returned_line_reversal_transfer_id_ledger_transfer')),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_settlement_returned_line')),
    sa.UniqueConstraint('refund_transfer_id', name=op.f('uq_settlement_returned_line_refund_transfer_id')),
    sa.UniqueConstraint('reversal_transfer_id', name=op.f('uq_settlement_returned_line_reversal_transfer_id'))
    )
    with op.batch_alter_table('settlement_returned_line', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_returned_line_batch_id_merchant_id', ['batch_id', 'merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_returned_line_return_id'), ['return_id'], unique=False)

    _replace_item_trigger(returns=True)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE_APPEND_ONLY if sqlite else _POSTGRES_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in ("settlement_returned_line_no_update", "settlement_returned_line_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" if sqlite else f"DROP TRIGGER IF EXISTS {name} ON settlement_returned_line")
    _replace_item_trigger(returns=False)
    with op.batch_alter_table('settlement_returned_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_returned_line_return_id'))
        batch_op.drop_index('ix_settlement_returned_line_batch_id_merchant_id')

    op.drop_table('settlement_returned_line')
    op.drop_table('settlement_returned_item')
    with op.batch_alter_table('settlement_return', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_return_batch_id'))

    op.drop_table('settlement_return')


# The items of a batch past its draft stay put, except those of a line the
# bank returned (its settlement_returned_line row is written first).
_SQLITE_ITEM_FROZEN = """CREATE TRIGGER settlement_item_frozen BEFORE DELETE ON settlement_item
       WHEN (SELECT status FROM settlement_batch WHERE id = OLD.batch_id) <> 'draft'{returned}
       BEGIN SELECT RAISE(ABORT, 'settlement_item of a batch that is no longer a draft cannot change'); END"""
# Both look-ups by key whatever sqlite_stat1 says (tests/settlement/test_trigger_plans.py):
# the redemption by its rowid, the returned line through its index.
_SQLITE_RETURNED = """
        AND NOT EXISTS (SELECT 1 FROM settlement_returned_line INDEXED BY ix_settlement_returned_line_batch_id_merchant_id
                        WHERE batch_id = OLD.batch_id
                          AND merchant_id = (SELECT merchant_id FROM redemption WHERE id = OLD.redemption_id))"""

# PostgreSQL keeps 0010's shape: one keyed probe per batch, index paths only
# (enable_seqscan off), so cancelling a draft of a million items stays one
# look-up. Only for a batch past its draft (CASE: evaluated in that order)
# are the deleted items' merchants looked up, one keyed probe each.
_POSTGRES_ITEM_FROZEN = """CREATE OR REPLACE FUNCTION settlement_item_frozen() RETURNS trigger LANGUAGE plpgsql
       SET enable_seqscan = off AS $$
       BEGIN
         IF EXISTS ({query}) THEN
           RAISE EXCEPTION 'settlement_item of a batch that is no longer a draft cannot change'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NULL;
       END $$"""
_POSTGRES_PROBE = (
    "SELECT 1 FROM (SELECT DISTINCT batch_id FROM gone) g CROSS JOIN LATERAL "
    "(SELECT b.status FROM settlement_batch b WHERE b.id = g.batch_id LIMIT 1) b WHERE b.status <> 'draft'"
)
_POSTGRES_PROBE_RETURNS = (
    "SELECT 1 FROM (SELECT DISTINCT batch_id FROM gone) g CROSS JOIN LATERAL "
    "(SELECT b.status FROM settlement_batch b WHERE b.id = g.batch_id LIMIT 1) b "
    "WHERE CASE WHEN b.status = 'draft' THEN false ELSE EXISTS ("
    "SELECT 1 FROM gone x CROSS JOIN LATERAL "
    "(SELECT r.merchant_id FROM redemption r WHERE r.id = x.redemption_id LIMIT 1) r "
    "WHERE x.batch_id = g.batch_id AND NOT EXISTS ("
    "SELECT 1 FROM settlement_returned_line rl WHERE rl.batch_id = g.batch_id AND rl.merchant_id = r.merchant_id)"
    ") END"
)


def _replace_item_trigger(*, returns: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS settlement_item_frozen")
        op.execute(_SQLITE_ITEM_FROZEN.format(returned=_SQLITE_RETURNED if returns else ""))
    else:
        # The trigger itself (statement level, on settlement_item) stays.
        op.execute(_POSTGRES_ITEM_FROZEN.format(query=_POSTGRES_PROBE_RETURNS if returns else _POSTGRES_PROBE))


_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER settlement_returned_line_no_update BEFORE UPDATE ON settlement_returned_line
       BEGIN SELECT RAISE(ABORT, 'settlement_returned_line is append-only'); END""",
    """CREATE TRIGGER settlement_returned_line_no_delete BEFORE DELETE ON settlement_returned_line
       BEGIN SELECT RAISE(ABORT, 'settlement_returned_line is append-only'); END""",
]
_POSTGRES_APPEND_ONLY = [
    # settlement_refuse_change() comes with migration 0005.
    "CREATE TRIGGER settlement_returned_line_no_update BEFORE UPDATE ON settlement_returned_line FOR EACH ROW EXECUTE FUNCTION settlement_refuse_change()",
    "CREATE TRIGGER settlement_returned_line_no_delete BEFORE DELETE ON settlement_returned_line FOR EACH ROW EXECUTE FUNCTION settlement_refuse_change()",
]

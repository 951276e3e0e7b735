"""`pasdienst ledger verify` finds what is off and names it."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from pasdienst import ledger

from .helpers import funded

pytestmark = pytest.mark.money


def test_verify_passes_on_a_healthy_ledger(db, cli):
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=400)
    result = cli("ledger", "verify")
    assert "ledger ok: 3 accounts, 2 transfers (0 reversals), 4 postings" in result.output


def test_verify_names_an_account_whose_kept_balance_drifted(db, cli):
    with db.transaction() as s:
        _, wallet, _ = funded(s, 1000)
        s.execute(text("UPDATE ledger_account SET balance = 999 WHERE id = :id"), {"id": wallet})
    result = cli("ledger", "verify", ok=False)
    assert result.exit_code == 1
    assert "balances" in result.stderr and "t:wallet" in result.stderr


@pytest.fixture
def restore_triggers(db):
    """PostgreSQL keeps one schema per test worker: put the protection back."""
    yield
    if db.dialect == "postgresql":
        with db.transaction() as s:
            s.execute(text("ALTER TABLE ledger_posting ENABLE TRIGGER ledger_posting_no_update"))
            exists = s.execute(text(
                    "SELECT 1 FROM pg_trigger WHERE tgname = 'ledger_posting_no_delete' "
                    "AND tgrelid = to_regclass('ledger_posting')"
                )).scalar()
            if not exists:
                s.execute(
                    text(
                        "CREATE TRIGGER ledger_posting_no_delete BEFORE DELETE ON ledger_posting "
                        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
                    )
                )


def test_verify_names_missing_protective_triggers(db, cli, restore_triggers):
    with db.transaction() as s:
        funded(s, 1000)
        if db.dialect == "sqlite":
            s.execute(text("DROP TRIGGER ledger_posting_no_delete"))
        else:
            s.execute(text("DROP TRIGGER ledger_posting_no_delete ON ledger_posting"))
    result = cli("ledger", "verify", ok=False)
    assert result.exit_code == 1
    assert "ledger_posting_no_delete" in result.stderr


def test_verify_finds_postings_that_do_not_balance(db, cli, restore_triggers):
    # Only possible with the protection removed: proves verify does not rely on it.
    with db.transaction() as s:
        _, wallet, shop = funded(s, 1000)
        posted = ledger.transfer(s, kind="redeem", source=wallet, destination=shop, amount=400)
    with db.transaction() as s:
        if db.dialect == "sqlite":
            s.execute(text("DROP TRIGGER ledger_posting_no_update"))
        else:
            s.execute(text("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_no_update"))
        s.execute(text("UPDATE ledger_posting SET amount = 500 WHERE amount = 400"))
    result = cli("ledger", "verify", ok=False)
    assert result.exit_code == 1
    assert str(posted.id) in result.stderr or posted.id.hex in result.stderr

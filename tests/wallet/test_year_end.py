"""Year end: passes expire and every unused cent goes back to the fund, once."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from pasdienst import books
from pasdienst.ledger.models import Transfer
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet import tokens
from pasdienst.wallet.errors import PassExpired, PassStateConflict
from pasdienst.wallet.models import ChildPass
from pasdienst.wallet.services import block_pass, close_year, resolve_pass

from .helpers import (
    CODE,
    EXPECTED,
    YEAR,
    balances,
    counts,
    issued,
    pass_of,
    spend,
    verified,
)

pytestmark = pytest.mark.money

AFTER = date(2028, 1, 1)


def test_year_end_expires_the_passes_and_returns_every_unused_balance(db, settings):
    issued(db, settings)
    spend(db, "K-1", "sport_culture", 2500)
    with db.transaction() as s:
        block_pass(s, pass_of(s, "K-2").pass_number, reason="lost")
        token = tokens.token_for(settings, pass_of(s, "K-3").handle)
    with db.transaction() as s:
        result = close_year(s, CODE, YEAR, today=AFTER)
    assert (result.passes_expired, result.vouchers_emptied, result.returned_cents) == (4, 12, EXPECTED - 2500)
    with db.read() as s:
        assert {p.status for p in s.execute(select(ChildPass)).scalars()} == {"expired"}
        assert set(balances(s, pass_of(s, "K-1")).values()) == {0}
        figures = budget_figures(s, CODE)
        assert figures.returned == EXPECTED - 2500 and figures.outstanding == 0
        assert figures.available == 1_000_000 - 2500
        kinds = [t.kind for t in s.execute(select(Transfer).order_by(Transfer.created_at)).scalars()]
        assert kinds.count(books.EXPIRE) == 12 and kinds.count(books.RETURN) == 1
        with pytest.raises(PassExpired):
            resolve_pass(s, token, settings=settings, today=date(2027, 12, 31))
    verified(db)


def test_running_year_end_twice_changes_nothing(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        close_year(s, CODE, YEAR, today=AFTER)
    with db.read() as s:
        before = counts(s)
    with db.transaction() as s:
        again = close_year(s, CODE, YEAR, today=date(2028, 2, 1))
    assert (again.passes_expired, again.vouchers_emptied, again.returned_cents) == (0, 0, 0)
    with db.read() as s:
        assert counts(s) == before
    verified(db)


@pytest.mark.parametrize("day", [date(2027, 6, 1), date(2027, 12, 31)])
def test_year_end_waits_until_the_passes_have_run_out(db, settings, day):
    issued(db, settings)
    with db.read() as s:
        before = counts(s)
    with pytest.raises(PassStateConflict, match="valid until 2027-12-31; year end can run from 2028-01-01"), db.transaction() as s:
        close_year(s, CODE, YEAR, today=day)
    with db.read() as s:
        assert counts(s) == before
        assert pass_of(s, "K-1").status == "active"


def test_year_end_on_the_command_line(cli, db, settings):
    issued(db, settings)
    result = cli("year-end", CODE, "--year", "2027", env={"PASDIENST_TODAY": "2028-01-02"})
    assert result.stdout.splitlines()[-1].startswith("year end opsterland 2027: 4 passes expired")
    refused = cli("year-end", CODE, "--year", "2026", ok=False, env={"PASDIENST_TODAY": "2028-01-02"})
    assert refused.exit_code == 1 and "no scheme for opsterland 2026" in refused.stderr
    assert "ledger ok" in cli("ledger", "verify").stdout

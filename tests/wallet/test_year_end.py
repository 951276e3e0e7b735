"""Year end: passes expire and every unused cent goes back to the fund, once."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from pasdienst import books
from pasdienst.ledger import Transfer
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet import tokens
from pasdienst.wallet.errors import NothingToClose, PassExpired, PassStateConflict, YearAlreadyClosed
from pasdienst.wallet.models import ChildPass
from pasdienst.wallet.services import block_pass, close_year, reissue_pass, resolve_pass
from pasdienst.wallet.yearend import preview_year_end

from .helpers import (
    CODE,
    EXPECTED,
    YEAR,
    balances,
    counts,
    TODAY,
    issued,
    pass_of,
    prepared,
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


def test_the_preview_counts_exactly_what_closing_then_moves(db, settings):
    issued(db, settings)
    spend(db, "K-1", "sport_culture", 2500)
    spend(db, "K-2", "zwemmen", 900)
    with db.transaction() as s:
        block_pass(s, pass_of(s, "K-2").pass_number, reason="lost")
        reissue_pass(s, pass_of(s, "K-3").pass_number, settings=settings, today=TODAY)
    with db.read() as s:
        before = counts(s)
        preview = preview_year_end(s, CODE, YEAR, today=AFTER)
        assert counts(s) == before  # a preview writes nothing
    assert preview.refusal is None
    assert preview.passes_expiring == 4 and preview.passes_total == 5  # the replaced pass does not expire again
    assert {(line.kind, line.category) for line in preview.lines} == {
        ("budget", "sport_culture"), ("punchcard", "sport_culture"), ("cheque", "clothing"),
    }
    with db.transaction() as s:
        result = close_year(s, CODE, YEAR, today=AFTER)
    assert (result.passes_expired, result.vouchers_emptied, result.returned_cents, result.lines) == (
        preview.passes_expiring, preview.vouchers, preview.total_cents, preview.lines,
    )
    assert preview.total_cents == EXPECTED - 2500 - 900
    with db.read() as s:
        after = preview_year_end(s, CODE, YEAR, today=AFTER)
    assert (after.refusal, after.passes_expiring, after.total_cents) == ("year_closed", 0, 0)
    verified(db)


def test_before_the_year_is_over_the_preview_says_so_and_still_counts(db, settings):
    issued(db, settings)
    with db.read() as s:
        preview = preview_year_end(s, CODE, YEAR, today=date(2027, 12, 31))
    assert preview.refusal == "year_not_over" and preview.closes_from == date(2028, 1, 1)
    assert preview.passes_expiring == 4 and preview.total_cents == EXPECTED


def test_closing_once_refuses_a_year_that_is_closed_or_has_no_passes(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        close_year(s, CODE, YEAR, today=AFTER, once=True)
    with db.read() as s:
        before = counts(s)
    with pytest.raises(YearAlreadyClosed), db.transaction() as s:
        close_year(s, CODE, YEAR, today=AFTER, once=True)
    with db.read() as s:
        assert counts(s) == before


def test_a_year_without_passes_has_nothing_to_close(db, settings):
    prepared(db, settings)
    with db.read() as s:
        assert preview_year_end(s, CODE, YEAR, today=AFTER).refusal == "nothing_to_close"
    with pytest.raises(NothingToClose), db.transaction() as s:
        close_year(s, CODE, YEAR, today=AFTER, once=True)

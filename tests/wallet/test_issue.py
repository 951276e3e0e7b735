"""Issuing passes: all or nothing, funded from the fund, once per child and year."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from pasdienst import books, ledger
from pasdienst.ledger import Transfer
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet.errors import BudgetShort, PassStateConflict
from pasdienst.wallet.models import Child, ChildPass, Voucher
from pasdienst.wallet.services import import_children, issue_passes

from .helpers import (
    CODE,
    EXPECTED,
    FULL_CENTS,
    TODAY,
    YEAR,
    balances,
    counts,
    csv_of,
    issued,
    pass_of,
    prepared,
    verified,
)

pytestmark = pytest.mark.money


def test_every_eligible_child_gets_one_pass_with_its_vouchers_funded_from_the_fund(db, settings):
    prepared(db, settings)
    with db.transaction() as s:
        result = issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)
    assert (result.issued, result.vouchers, result.total_cents, result.not_eligible) == (4, 12, EXPECTED, 2)
    with db.read() as s:
        nora = pass_of(s, "K-1")
        assert nora.status == "active" and nora.year == YEAR and nora.award_basis == "full"
        assert (nora.valid_from, nora.valid_until) == (date(2027, 1, 1), date(2027, 12, 31))
        assert nora.pass_number == f"KP-2027-{nora.id:06d}"
        assert balances(s, nora) == {"sport_culture": 15000, "zwemmen": 4500, "fashioncheque": 7501}
        elif_ = pass_of(s, "K-3")
        assert elif_.award_basis == "sliding" and elif_.award_share == 5000
        assert balances(s, elif_) == {"sport_culture": 7500, "zwemmen": 2250, "fashioncheque": 3750}
        assert pass_of(s, "K-4").award_basis == "override"
        assert pass_of(s, "K-5") is None and pass_of(s, "K-6") is None
        punch = s.execute(select(Voucher).where(Voucher.pass_id == nora.id, Voucher.kind == "punchcard")).scalar_one()
        assert (punch.strip_value_cents, punch.initial_strips, punch.code) == (450, 10, "zwemmen")
        account = s.get(ledger.Account, punch.account_id)
        assert (account.key, account.kind, account.non_negative) == (books.voucher_key(CODE, punch.id), books.VOUCHER, True)
        figures = budget_figures(s, CODE)
        assert figures.reserved == EXPECTED and figures.outstanding == EXPECTED
        assert figures.available == 1_000_000 - EXPECTED
        # One issue transfer per pass: the fund pays, each voucher receives its share.
        issues = s.execute(select(Transfer).where(Transfer.kind == books.ISSUE)).scalars().all()
        assert len(issues) == 4 and sum(t.amount for t in issues) == EXPECTED
    verified(db)


def test_when_the_fund_falls_short_it_says_by_how_much_and_issues_nothing(db, settings):
    prepared(db, settings, fund="300.00")
    with db.read() as s:
        before = counts(s)
    with pytest.raises(BudgetShort) as refused, db.transaction() as s:
        issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)
    short = EXPECTED - 30000
    assert refused.value.short == short and refused.value.code == "insufficient_budget"
    assert f"{short // 100}.{short % 100:02d} short" in refused.value.message
    with db.read() as s:
        assert counts(s) == before
        assert budget_figures(s, CODE).available == 30000
    verified(db)


def test_a_fund_that_covers_the_run_exactly_is_enough(db, settings):
    prepared(db, settings, fund=f"{EXPECTED // 100}.{EXPECTED % 100:02d}")
    with db.transaction() as s:
        assert issue_passes(s, CODE, YEAR, settings=settings, today=TODAY).issued == 4
    with db.read() as s:
        assert budget_figures(s, CODE).available == 0
    verified(db)


def test_running_it_again_issues_only_to_children_who_became_eligible_since(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        again = issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)
    assert (again.issued, again.total_cents) == (0, 0)
    with db.transaction() as s:
        # Fenna's income fell inside the limit; a new child moved in.
        import_children(s, CODE, csv_of("K-5;Fenna;2015-05-05;H4;110;;;;", "K-7;Gijs;2019-04-16;H6;100;;;;"),
                        settings=settings, today=TODAY)
    with db.read() as s:
        before = counts(s)
    with db.transaction() as s:
        later = issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)
    assert (later.issued, later.total_cents) == (2, 2 * FULL_CENTS)
    with db.read() as s:
        assert counts(s)["passes"] == before["passes"] + 2
        assert {c for (c,) in s.execute(select(Child.child_ref).join(ChildPass, ChildPass.child_id == Child.id))} == {
            "K-1", "K-2", "K-3", "K-4", "K-5", "K-7"
        }
    verified(db)


def test_a_child_cannot_hold_two_first_passes_for_one_year(db, settings):
    from sqlalchemy.exc import IntegrityError

    issued(db, settings)
    with pytest.raises(IntegrityError), db.transaction() as s:
        nora = pass_of(s, "K-1")
        s.add(ChildPass(
            municipality_id=nora.municipality_id, child_id=nora.child_id, scheme_id=nora.scheme_id, year=YEAR,
            generation=1, status="active", valid_from=nora.valid_from, valid_until=nora.valid_until,
            handle="AAAAAAAAAAAAA", code_hash="0" * 64, award_basis="full", award_share=10000,
        ))
        s.flush()


def test_no_passes_are_issued_for_a_year_that_is_over(db, settings):
    prepared(db, settings)
    with pytest.raises(PassStateConflict, match="ended on 2027-12-31"), db.transaction() as s:
        issue_passes(s, CODE, YEAR, settings=settings, today=date(2028, 1, 1))


def test_issuing_needs_a_scheme_for_the_year(db, settings):
    from pasdienst.errors import NotFound

    prepared(db, settings)
    with pytest.raises(NotFound, match="no scheme for opsterland 2028"), db.transaction() as s:
        issue_passes(s, CODE, 2028, settings=settings, today=TODAY)


def test_progress_is_reported_as_passes_are_written(db, settings):
    prepared(db, settings)
    seen: list[tuple[int, int]] = []
    with db.transaction() as s:
        issue_passes(s, CODE, YEAR, settings=settings, today=TODAY, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4)


def test_passes_issue_on_the_command_line_commits_money_then_renders_the_qr_codes(cli, db, settings, tmp_path):
    from pasdienst.wallet.models import PassImage

    prepared(db, settings)
    result = cli("passes", "issue", CODE, "--year", "2027", env={"PASDIENST_TODAY": "2027-01-15"})
    lines = result.stdout.splitlines()
    assert lines[-2] == "rendered 4 QR codes"
    assert lines[-1].startswith("issued 4 passes with 12 vouchers for opsterland 2027")
    with db.read() as s:
        assert len(s.execute(select(PassImage.pass_id)).all()) == 4
    assert "ledger ok" in cli("ledger", "verify").stdout


def test_a_shortfall_on_the_command_line_is_one_line_and_changes_nothing(cli, db, settings):
    prepared(db, settings, fund="10.00")
    result = cli("passes", "issue", CODE, "--year", "2027", ok=False, env={"PASDIENST_TODAY": "2027-01-15"})
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "short; nothing was issued" in result.stderr
    with db.read() as s:
        assert counts(s)["passes"] == 0


def test_two_issuing_runs_at_once_issue_each_pass_once(db, settings):
    import threading

    prepared(db, settings)
    issued_counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            with db.transaction() as s:
                issued_counts.append(issue_passes(s, CODE, YEAR, settings=settings, today=TODAY).issued)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and sorted(issued_counts) == [0, 4]
    with db.read() as s:
        assert counts(s)["passes"] == 4
    verified(db)


# -- children who come during the year (issue 15) -------------------------------------

def _registered_on(db, child_ref: str, day: date) -> None:
    """As if the municipality had registered the child on ``day`` (import stamps the real clock)."""
    from datetime import datetime, time, timezone

    with db.transaction() as s:
        child = s.execute(select(Child).where(Child.child_ref == child_ref)).scalar_one()
        child.created_at = datetime.combine(day, time(12), timezone.utc)


def _first_run_on(db, day: date) -> None:
    from datetime import datetime, time, timezone

    from sqlalchemy import update

    with db.transaction() as s:
        s.execute(update(ChildPass).values(created_at=datetime.combine(day, time(9), timezone.utc)))


def test_a_child_born_after_valid_from_gets_what_a_newborn_gets_at_the_next_run(db, settings):
    issued(db, settings)
    summer = date(YEAR, 7, 10)
    with db.transaction() as s:
        import_children(s, CODE, csv_of("K-8;Roos;2027-03-05;H7;100;;;;"), settings=settings, today=summer)
        later = issue_passes(s, CODE, YEAR, settings=settings, today=summer)
    assert later.issued == 1
    with db.read() as s:
        assert balances(s, pass_of(s, "K-8")) == {"fashioncheque": 7501}  # the 0-17 cheque; budgets start at 4
    verified(db)


@pytest.mark.parametrize("rule, budget", [("full", 15000), ("pro_rata", 5000)])
def test_a_newcomer_after_the_first_run_gets_its_budget_in_full_or_by_the_months_left(db, settings, rule, budget):
    from pasdienst.wallet.schemes import load_scheme

    from .helpers import SCHEME, municipality

    with db.transaction() as s:
        municipality(s)
        load_scheme(s, SCHEME.replace("income_limit_pct = 120", f'income_limit_pct = 120\nmid_year = "{rule}"'))
        import_children(s, CODE, csv_of("K-1;Omar;2014-03-20;H1;100;;;;"), settings=settings, today=TODAY)
        issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)
    _first_run_on(db, date(YEAR, 1, 15))
    september = date(YEAR, 9, 20)
    with db.transaction() as s:
        import_children(s, CODE, csv_of("K-9;Mila;2016-05-01;H9;100;;;;"), settings=settings, today=september)
    _registered_on(db, "K-9", september)
    with db.transaction() as s:
        issue_passes(s, CODE, YEAR, settings=settings, today=september)
    with db.read() as s:
        assert balances(s, pass_of(s, "K-1"))["sport_culture"] == 15000  # there from the start: the whole year
        mila = balances(s, pass_of(s, "K-9"))
    assert mila["sport_culture"] == budget  # 150.00, or 4 of 12 months (September to December)
    assert mila["fashioncheque"] == 7501 and mila["zwemmen"] == 4500  # cheques and punch cards stay whole
    verified(db)

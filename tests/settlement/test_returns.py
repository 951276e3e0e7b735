"""A payment the bank sent back is taken back with four eyes: the money goes
from clearing back to the merchant's payable, its redemptions wait for the
next batch, and the books still verify."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from pasdienst import books, ledger
from pasdienst.access.errors import Forbidden
from pasdienst.access.models import AuditEvent
from pasdienst.errors import NotFound, ValidationFailed
from pasdienst.settlement import returns
from pasdienst.settlement import corrections as settlement_corrections, export as settlement_export, queries
from pasdienst.settlement.errors import FourEyes, WrongState
from pasdienst.settlement.models import SettlementBatch, SettlementItem, SettlementReturn
from pasdienst.settlement.sepa import parse_summary

from .conftest import SettlementWorld, a_month, approve, at, balance, create, export, lines, pay, payable
from tests.text import spaced
from tests.factories import login_as, make_user

pytestmark = pytest.mark.money

NEXT = date(2027, 3, 20)
CLEARING = books.clearing_key("testdorp")
BANK = books.bank_key("testdorp")


def record(world: SettlementWorld, batch_id: int, merchant: str | None, *, by=None, reason: str = "rekening opgeheven") -> int:
    merchant_id = world.merchants[merchant] if merchant else None
    with world.db.transaction() as s:
        return returns.request_return(
            s, world.actor(by or world.finance), batch_id, merchant_id=merchant_id, reason=reason, now=at(16)
        ).id


def confirm(world: SettlementWorld, return_id: int, *, by=None) -> returns.ReturnResult:
    with world.db.transaction() as s:
        return returns.confirm_return(s, world.actor(by or world.finance2), return_id, now=at(16, 14))


def claimed_by(world: SettlementWorld, batch_id: int) -> int:
    with world.db.read() as s:
        return s.execute(select(func.count()).select_from(SettlementItem).where(SettlementItem.batch_id == batch_id)).scalar_one()


def statement(world: SettlementWorld, batch_id: int, merchant: str) -> str:
    with world.db.read() as s:
        return settlement_export.statement_for(s, world.actor(world.finance), batch_id, world.merchants[merchant], stylesheet_url=None).html


def events(world: SettlementWorld, action: str) -> list[AuditEvent]:
    with world.db.read() as s:
        return s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars().all()


def test_the_full_cycle_one_line_then_a_whole_batch_returned_and_paid_by_the_next_batches(world):
    a_month(world)  # sport 12.50 + 20.00, school 19.99, mode 75.00
    first = create(world)
    approve(world, first.id)
    export(world, first.id)
    assert balance(world, CLEARING) == 12749

    # The bank returns the payment to Mode & Zo (account closed).
    return_id = record(world, first.id, "mode")
    assert payable(world, "mode") == 0 and balance(world, CLEARING) == 12749  # recorded only: nothing moves yet
    done = confirm(world, return_id)
    assert done.changed and done.merchants == (world.merchants["mode"],)
    assert payable(world, "mode") == 7500 and balance(world, CLEARING) == 12749 - 7500
    assert claimed_by(world, first.id) == 3  # mode's redemption left the batch
    assert world.verify() == []

    # The rest of the batch is paid: only what was not returned leaves clearing.
    pay(world, first.id)
    assert balance(world, CLEARING) == 0 and balance(world, BANK) == 12749 - 7500
    assert world.verify() == []
    # The file made before the return stays the file that was sent.
    assert parse_summary(export(world, first.id).sepa)["ctrl_sum_cents"] == 12749
    page = statement(world, first.id, "mode")
    assert "Teruggeboekt door de bank op 16-03-2027" in page and "rekening opgeheven" in page
    assert "volgende afrekening" in page and "75,00" in page

    # The next batch pays Mode & Zo with its new redemptions.
    world.redeem("mode", 1000, at(17), child="T-2", voucher=("cheque", "clothing"))
    world.redeem("school", 500, at(17))
    second = create(world, until=NEXT)
    assert lines(world, second.id) == {world.merchants["mode"]: (2, 8500), world.merchants["school"]: (1, 500)}
    approve(world, second.id)
    export(world, second.id)
    assert world.verify() == []

    # The bank refuses the whole second file: everything back to the payables.
    whole = record(world, second.id, None, reason="bestand geweigerd")
    assert set(confirm(world, whole).merchants) == {world.merchants["mode"], world.merchants["school"]}
    assert payable(world, "mode") == 8500 and payable(world, "school") == 500 and balance(world, CLEARING) == 0
    assert claimed_by(world, second.id) == 0
    with pytest.raises(WrongState, match="every payment of batch .* was returned by the bank; there is nothing to pay"):
        pay(world, second.id)
    assert world.verify() == []

    # A third batch pays both, and this time the bank executes it.
    third = create(world, until=NEXT)
    assert lines(world, third.id) == {world.merchants["mode"]: (2, 8500), world.merchants["school"]: (1, 500)}
    approve(world, third.id)
    export(world, third.id)
    pay(world, third.id)
    assert payable(world, "mode") == payable(world, "school") == payable(world, "sport") == 0
    assert balance(world, CLEARING) == 0 and balance(world, BANK) == 12749 - 7500 + 9000
    assert world.verify() == []
    assert [e.after["amount_cents"] for e in events(world, "settlement.return_confirm")] == [7500, 9000]
    assert [e.actor_email for e in events(world, "settlement.return_request")] == [world.finance.email] * 2
    assert [e.actor_email for e in events(world, "settlement.return_confirm")] == [world.finance2.email] * 2


def test_a_line_returned_after_the_batch_was_paid_comes_back_from_the_bank_account_first(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    pay(world, batch.id)
    assert balance(world, BANK) == 12749
    confirm(world, record(world, batch.id, "school", reason="naam klopt niet"))
    assert balance(world, BANK) == 12749 - 1999 and balance(world, CLEARING) == 0 and payable(world, "school") == 1999
    with world.db.read() as s:
        kinds = ledger.kind_totals(s, "testdorp")
    assert kinds[books.BANK_RETURN] == 1999
    assert world.verify() == []
    again = create(world, until=NEXT)
    assert lines(world, again.id) == {world.merchants["school"]: (1, 1999)}


def test_a_line_returned_while_only_approved_is_left_out_of_the_first_file(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    confirm(world, record(world, batch.id, "sport"))
    summary = parse_summary(export(world, batch.id).sepa)
    assert summary["nb_of_txs"] == 2 and summary["ctrl_sum_cents"] == 12749 - 3250
    pay(world, batch.id)
    assert balance(world, BANK) == 12749 - 3250 and world.verify() == []


def test_a_corrected_line_returned_nets_its_correction_again_in_the_next_batch(world):
    made = a_month(world)
    first = create(world)
    approve(world, first.id)
    world.redeem("sport", 5000, at(15, 11))
    with world.db.transaction() as s:
        settlement_corrections.correct_redemption(s, world.actor(world.finance), made["sport"][0], reason="dubbel", now=at(16, 10))
    second = create(world, until=date(2027, 3, 17), today=date(2027, 3, 17))
    assert lines(world, second.id) == {world.merchants["sport"]: (1, 5000 - 1250)}
    approve(world, second.id)
    confirm(world, record(world, second.id, "sport"))
    assert payable(world, "sport") == 3750 and world.verify() == []
    third = create(world, until=NEXT)
    assert lines(world, third.id) == {world.merchants["sport"]: (1, 3750)}
    approve(world, third.id)
    assert payable(world, "sport") == 0 and world.verify() == []


def test_four_eyes_the_recorder_cannot_confirm_and_nothing_moves(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    return_id = record(world, batch.id, "mode", by=world.finance2)
    with pytest.raises(FourEyes, match="another finance user must confirm it"):
        confirm(world, return_id, by=world.finance2)
    assert payable(world, "mode") == 0 and world.verify() == []
    assert confirm(world, return_id, by=world.finance).changed
    assert not confirm(world, return_id, by=world.finance).changed  # a re-run moves nothing twice
    assert payable(world, "mode") == 7500 and world.verify() == []


def test_a_recorded_return_can_be_withdrawn_and_then_not_confirmed(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    return_id = record(world, batch.id, "mode")
    with world.db.transaction() as s:
        assert returns.withdraw_return(s, world.actor(world.finance), return_id).changed
    with pytest.raises(WrongState, match="was withdrawn"):
        confirm(world, return_id)
    assert payable(world, "mode") == 0
    assert record(world, batch.id, "mode") != return_id  # recorded again, correctly this time


def test_what_cannot_be_returned_is_refused_and_writes_nothing(world):
    a_month(world)
    batch = create(world)
    with pytest.raises(WrongState, match="a draft is cancelled instead"):
        record(world, batch.id, "mode")
    approve(world, batch.id)
    with pytest.raises(ValidationFailed, match="needs the bank's reason"):
        record(world, batch.id, "mode", reason="  ")
    with pytest.raises(ValidationFailed, match="control characters"):
        record(world, batch.id, "mode", reason="rekening\x00 opgeheven")
    with pytest.raises(NotFound, match="is not in batch"):
        with world.db.transaction() as s:
            returns.request_return(s, world.actor(world.finance), batch.id, merchant_id=999_999, reason="x")
    pending = record(world, batch.id, "mode")
    with pytest.raises(WrongState, match=f"return {pending} .* already waits for confirmation"):
        record(world, batch.id, None)
    confirm(world, pending)
    with pytest.raises(WrongState, match="was already returned"):
        record(world, batch.id, "mode")
    with pytest.raises(Forbidden), world.db.transaction() as s:  # the command line without --by is nobody
        from pasdienst.access.policy import CLI_ACTOR

        returns.request_return(s, CLI_ACTOR, batch.id, merchant_id=None, reason="x")
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(SettlementReturn)).scalar_one() == 1


def test_finance_of_another_municipality_does_not_see_the_batch(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    stranger = make_user(world.db, "finance", municipality="andersdorp", email="fin@andersdorp.example")
    with pytest.raises(NotFound):
        record(world, batch.id, "mode", by=stranger)


def test_returned_lines_are_append_only(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    confirm(world, record(world, batch.id, "mode"))
    for statement_sql in ("UPDATE settlement_returned_line SET amount_cents = 1", "DELETE FROM settlement_returned_line"):
        with pytest.raises(Exception, match="append-only|cannot be changed"), world.db.transaction() as s:
            s.execute(text(statement_sql))


def test_items_of_a_line_that_was_not_returned_stay_frozen(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    confirm(world, record(world, batch.id, "mode"))
    with pytest.raises(Exception, match="no longer a draft"), world.db.transaction() as s:
        s.execute(text(f"DELETE FROM settlement_item WHERE batch_id = {batch.id}"))
    assert claimed_by(world, batch.id) == 3


def test_the_merchant_sees_the_returned_payment_and_its_redemptions_as_waiting(world):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    confirm(world, record(world, batch.id, "mode"))
    from pasdienst.access.policy import Actor

    actor = Actor(None, "kassa@example", "merchant", world.municipality_id, "testdorp", world.merchants["mode"])
    with world.db.read() as s:
        payouts = queries.merchant_payouts(s, actor)
        batch_row = s.get(SettlementBatch, batch.id)
    assert [b.returned_at is not None for b in payouts.batches] == [True]
    assert payouts.waiting.count == 1 and payouts.waiting.total_cents == 7500
    assert batch_row.status == "approved" and batch_row.total_cents == 12749  # the batch's figures stay as approved


# -- the command line and /finance ----------------------------------------------------------

TODAY_ENV = {"PASDIENST_TODAY": "2027-03-16"}


def test_the_command_line_records_confirms_and_shows_a_return_then_verify_is_clean(cli, world, tmp_path):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    mode = world.merchants["mode"]
    recorded = cli("settlement", "return", str(batch.id), "--merchant", str(mode), "--reason", "rekening opgeheven",
                   "--by", world.finance.email, env=TODAY_ENV)
    return_id = recorded.output.strip().splitlines()[-1]
    assert return_id.isdigit() and f"recorded return {return_id}" in recorded.output

    refused = cli("settlement", "confirm-return", return_id, "--by", world.finance.email, ok=False, env=TODAY_ENV)
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert "another finance user must confirm it (four eyes)" in refused.output
    confirmed = cli("settlement", "confirm-return", return_id, "--by", world.finance2.email, env=TODAY_ENV)
    assert f"confirmed return {return_id}: 75.00 EUR of batch {batch.id} back on the payables" in confirmed.output
    assert "already confirmed" in cli("settlement", "confirm-return", return_id, "--by", world.finance2.email, env=TODAY_ENV).output

    shown = cli("settlement", "show", str(batch.id)).output
    assert "returned by the bank" in shown and f"return {return_id}: merchant {mode}, confirmed" in shown
    cli("settlement", "paid", str(batch.id), "--by", world.finance.email, env=TODAY_ENV)
    assert "ledger ok" in cli("ledger", "verify").output

    made = cli("settlement", "create", "testdorp", "--until", "2027-03-16", "--by", world.finance.email, env=TODAY_ENV)
    assert "1 redemptions, 75.00 EUR" in made.output

    draft = made.output.strip().splitlines()[-1]
    bad = cli("settlement", "return", draft, "--reason", "x", "--by", world.finance.email, ok=False, env=TODAY_ENV)
    assert bad.exit_code == 1 and len(bad.output.strip().splitlines()) == 1 and "a draft is cancelled instead" in bad.output


def test_finance_records_and_a_colleague_confirms_a_return_in_the_browser(world):
    from pasdienst.web.app import create_app

    from .test_finance_pages import post

    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    app = create_app(world.settings, db=world.db)
    app.config.update(TESTING=True)
    maker, checker = app.test_client(), app.test_client()
    login_as(maker, world.finance)
    login_as(checker, world.finance2)
    page_url = f"/finance/afrekeningen/{batch.id}"
    assert "Terugboekingen door de bank" in maker.get(page_url).get_data(as_text=True)

    post(maker, f"{page_url}/terugboekingen", merchant_id=str(world.merchants["mode"]), reason="naam klopt niet")
    page = maker.get(page_url).get_data(as_text=True)
    assert "De terugboeking is vastgelegd" in page and "wacht op bevestiging" in page
    assert "Een andere medewerker van financiën moet dit bevestigen" in page and "Terugboeking bevestigen" not in page
    with world.db.read() as s:
        return_id = s.execute(select(SettlementReturn.id)).scalar_one()

    post(maker, f"{page_url}/terugboekingen/{return_id}/bevestigen")
    assert "U heeft deze terugboeking zelf vastgelegd" in maker.get(page_url).get_data(as_text=True)
    assert payable(world, "mode") == 0

    post(checker, f"{page_url}/terugboekingen/{return_id}/bevestigen")
    page = checker.get(page_url).get_data(as_text=True)
    assert f"Terugboeking T{return_id} is bevestigd: € 75,00 staat weer bij de aanbieder" in spaced(page)
    assert "Teruggeboekt door de bank op 15-03-2027" in page
    assert payable(world, "mode") == 7500 and world.verify() == []

    post(checker, f"{page_url}/terugboekingen", merchant_id="alle", reason=" ")
    assert "Vul de reden in die de bank opgeeft" in checker.get(page_url).get_data(as_text=True)
    other = create(world)  # nothing new before the 15th except the returned redemption
    assert lines(world, other.id) == {world.merchants["mode"]: (1, 7500)}
    # A return is acted on from its own batch's page only.
    assert post(checker, f"/finance/afrekeningen/{other.id}/terugboekingen/{return_id}/bevestigen").status_code == 404


def test_the_page_returns_every_payment_only_when_asked_explicitly(world):
    from pasdienst.web.app import create_app

    from .test_finance_pages import post

    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    app = create_app(world.settings, db=world.db)
    app.config.update(TESTING=True)
    client = app.test_client()
    login_as(client, world.finance)
    page_url = f"/finance/afrekeningen/{batch.id}"
    for chosen in ("", "12abc", "٣"):
        post(client, f"{page_url}/terugboekingen", merchant_id=chosen, reason="rekening opgeheven")
        assert "Kies de aanbieder van wie de uitbetaling terugkwam" in client.get(page_url).get_data(as_text=True)
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(SettlementReturn)).scalar_one() == 0
    post(client, f"{page_url}/terugboekingen", merchant_id="alle", reason="bestand geweigerd")
    with world.db.read() as s:
        assert s.execute(select(SettlementReturn.merchant_id)).scalar_one() is None

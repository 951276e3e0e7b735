"""A lost pass: block stops it at once; reissue carries the balances over."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pasdienst import books
from pasdienst.errors import ValidationFailed
from pasdienst.ledger import Transfer
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet import codes, tokens
from pasdienst.wallet.errors import (
    PassBlocked,
    PassNotFound,
    PassStateConflict,
)
from pasdienst.wallet.models import ChildPass, Voucher
from pasdienst.wallet.services import block_pass, reissue_pass, resolve_pass

from .helpers import (
    CODE,
    TODAY,
    YEAR,
    balances,
    counts,
    issued,
    pass_of,
    spend,
    verified,
)

pytestmark = pytest.mark.money


def test_blocking_stops_the_qr_and_the_code_at_once(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        nora = pass_of(s, "K-1")
        token, code = tokens.token_for(settings, nora.handle), codes.code_of(settings, nora.handle, nora.code_hash)
        blocked = block_pass(s, nora.pass_number, reason="lost on the way to school")
        assert blocked.status == "blocked" and blocked.block_reason == "lost on the way to school"
        assert blocked.blocked_at is not None
    with db.read() as s:
        for scanned in (token, code):
            with pytest.raises(PassBlocked):
                resolve_pass(s, scanned, settings=settings, today=TODAY)


def test_a_pass_can_be_named_by_number_or_id(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        nora = pass_of(s, "K-1")
        assert block_pass(s, str(nora.id), reason="stolen").id == nora.id
    with db.transaction() as s, pytest.raises(PassNotFound):
        block_pass(s, f"KP-2026-{nora.id:06d}", reason="wrong year")
    with db.transaction() as s, pytest.raises(ValidationFailed, match="not a pass number"):
        block_pass(s, "kwijt", reason="x")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_block_needs_a_reason_and_changes_nothing_without_one(db, settings, reason):
    issued(db, settings)
    with db.transaction() as s, pytest.raises(ValidationFailed, match="needs a reason"):
        block_pass(s, pass_of(s, "K-1").pass_number, reason=reason)
    with db.read() as s:
        assert pass_of(s, "K-1").status == "active"


def test_a_pass_is_blocked_once(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        number = pass_of(s, "K-1").pass_number
        block_pass(s, number, reason="lost")
    with db.transaction() as s, pytest.raises(PassStateConflict, match="is blocked, not active"):
        block_pass(s, number, reason="lost again")
    with db.read() as s:
        assert pass_of(s, "K-1").block_reason == "lost"


def test_reissue_carries_the_remaining_balances_and_strips_over_and_keeps_the_history(db, settings):
    issued(db, settings)
    spend(db, "K-1", "sport_culture", 4000)
    spend(db, "K-1", "zwemmen", 3 * 450)
    with db.read() as s:
        before_figures = budget_figures(s, CODE)
    with db.transaction() as s:
        old = pass_of(s, "K-1")
        old_id, old_number = old.id, old.pass_number
        block_pass(s, old_number, reason="lost")
        new = reissue_pass(s, old_number, settings=settings, today=TODAY)
        assert new.id != old_id and new.generation == 2 and new.replaces_id == old_id
        assert new.status == "active" and new.child_id == old.child_id and new.year == YEAR
        assert new.handle != old.handle and new.code_hash != old.code_hash
    with db.read() as s:
        old = s.get(ChildPass, old_id)
        new = pass_of(s, "K-1")
        assert old.status == "replaced" and old.block_reason == "lost"
        assert balances(s, old) == {"sport_culture": 0, "zwemmen": 0, "fashioncheque": 0}
        assert balances(s, new) == {"sport_culture": 11000, "zwemmen": 7 * 450, "fashioncheque": 7501}
        punch = s.execute(select(Voucher).where(Voucher.pass_id == new.id, Voucher.kind == "punchcard")).scalar_one()
        assert punch.initial_strips == 7 and punch.carried_from_id is not None
        carried = s.execute(select(Transfer).where(Transfer.kind == books.CARRY_OVER)).scalars().all()
        assert sorted(t.amount for t in carried) == sorted([11000, 3150, 7501])
        # Carrying over moves money between vouchers: the fund is untouched.
        assert budget_figures(s, CODE) == before_figures
    verified(db)


def test_after_reissue_only_the_new_qr_and_code_work(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        old = pass_of(s, "K-1")
        old_scans = (tokens.token_for(settings, old.handle), codes.code_of(settings, old.handle, old.code_hash))
        new = reissue_pass(s, old.pass_number, settings=settings, today=TODAY)
        new_scans = (tokens.token_for(settings, new.handle), codes.code_of(settings, new.handle, new.code_hash))
    with db.read() as s:
        for scanned in old_scans:
            with pytest.raises(PassBlocked) as refused:
                resolve_pass(s, scanned, settings=settings, today=TODAY)
            assert refused.value.reason == "replaced"
        for scanned in new_scans:
            assert resolve_pass(s, scanned, settings=settings, today=TODAY).generation == 2


def test_a_replaced_pass_cannot_be_reissued_or_blocked_again(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        number = pass_of(s, "K-1").pass_number
        reissue_pass(s, number, settings=settings, today=TODAY)
    with db.read() as s:
        before = counts(s)
    with db.transaction() as s, pytest.raises(PassStateConflict, match="is replaced"):
        reissue_pass(s, number, settings=settings, today=TODAY)
    with db.transaction() as s, pytest.raises(PassStateConflict):
        block_pass(s, number, reason="x")
    with db.read() as s:
        assert counts(s) == before


def test_a_reissued_pass_can_be_lost_and_reissued_again(db, settings):
    issued(db, settings)
    spend(db, "K-1", "fashioncheque", 1)
    with db.transaction() as s:
        second = reissue_pass(s, pass_of(s, "K-1").pass_number, settings=settings, today=TODAY)
        third = reissue_pass(s, second.pass_number, settings=settings, today=TODAY)
        assert third.generation == 3
    with db.read() as s:
        assert balances(s, pass_of(s, "K-1"))["fashioncheque"] == 7500
    verified(db)


def test_block_and_reissue_on_the_command_line(cli, db, settings):
    issued(db, settings)
    with db.read() as s:
        number = pass_of(s, "K-2").pass_number
    blocked = cli("passes", "block", number, "--reason", "lost", env={"PASDIENST_TODAY": "2027-01-15"})
    assert f"blocked {number}" in blocked.stdout
    refused = cli("passes", "block", number, "--reason", "again", ok=False)
    assert refused.exit_code == 1 and "not active" in refused.stderr
    result = cli("passes", "reissue", number, env={"PASDIENST_TODAY": "2027-01-15"})
    lines = result.stdout.splitlines()
    with db.read() as s:
        new = pass_of(s, "K-2")
        assert lines[-1] == new.pass_number
        assert f"url https://pas.example.nl/p/{tokens.token_for(settings, new.handle)}" in lines
        assert f"code {codes.display(codes.code_of(settings, new.handle, new.code_hash))}" in lines
        from pasdienst.wallet.models import PassImage

        assert s.get(PassImage, new.id) is not None  # rendered once, at reissue
    shown = cli("passes", "show", number).stdout
    assert "replaced" in shown and f"replaced by {lines[-1]}" in shown
    assert "ledger ok" in cli("ledger", "verify").stdout

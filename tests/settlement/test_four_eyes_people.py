"""Settlement approval and a bank return's confirmation need two people, not two accounts one admin could both have used.

An admin who asked for a finance account, or for its last new password, saw
its one-time password (docs/SECURITY.md, "Four eyes").
"""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from pasdienst.access.models import User
from pasdienst.access.accounts import actor_for_email
from pasdienst.access.logins import session_version
from pasdienst.foureyes import requests
from pasdienst.settlement import returns
from pasdienst.settlement.errors import FourEyes
from pasdienst.settlement.models import SettlementBatch
from tests.factories import login_as, make_user

from .conftest import a_month, approve, create

pytestmark = pytest.mark.money


def _reset(world, target, *, asker, confirmer) -> str:
    """A new password for ``target``: asked by ``asker``, confirmed by ``confirmer``; the one-time password."""
    with world.db.transaction() as s:
        request, password = requests.request_password_reset(s, actor_for_email(s, asker.email), s.get(User, target.id))
    with world.db.transaction() as s:
        requests.confirm_request(s, actor_for_email(s, confirmer.email), request.id)
    return password


def _status(world, batch_id: int) -> str:
    with world.db.read() as s:
        return s.get(SettlementBatch, batch_id).status


def test_a_finance_account_reset_by_the_admin_who_also_reset_the_creators_cannot_approve(world):
    honest = make_user(world.db, "admin")
    _reset(world, world.finance, asker=world.admin, confirmer=honest)
    _reset(world, world.finance2, asker=world.admin, confirmer=honest)
    a_month(world)
    batch = create(world, by=world.finance)
    with pytest.raises(FourEyes, match="lineage"):
        approve(world, batch.id, by=world.finance2)
    assert _status(world, batch.id) == "draft"
    # A reset asked by another admin gives the account a lineage of its own.
    _reset(world, world.finance2, asker=honest, confirmer=world.admin)
    assert approve(world, batch.id, by=world.finance2).changed and _status(world, batch.id) == "approved"


def test_a_finance_account_with_its_own_sponsor_approves_as_before(world):
    _reset(world, world.finance2, asker=world.admin, confirmer=make_user(world.db, "admin"))
    a_month(world)
    batch = create(world, by=world.finance)
    assert approve(world, batch.id, by=world.finance2).changed


def test_the_finance_page_and_the_command_line_say_why(world, app, cli):
    honest = make_user(world.db, "admin")
    _reset(world, world.finance, asker=world.admin, confirmer=honest)
    _reset(world, world.finance2, asker=world.admin, confirmer=honest)
    a_month(world)
    batch = create(world, by=world.finance)
    result = cli("settlement", "approve", str(batch.id), "--by", world.finance2.email, ok=False)
    assert result.exit_code != 0 and "four eyes" in result.output and len(result.output.strip().splitlines()) == 1
    with world.db.transaction() as s:
        user = s.get(User, world.finance2.id)
        user.must_change_password = False  # as if it chose its own at first login
        finance2 = replace(world.finance2, version=session_version(user))
    client = app.test_client()
    login_as(client, finance2)
    page = client.get(f"/finance/afrekeningen/{batch.id}").get_data(as_text=True)
    # The page says so before anyone presses a button, and offers none to approve.
    assert "door dezelfde beheerder aangemaakt" in page and "goedkeuren\"" not in page and ">Goedkeuren<" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post(f"/finance/afrekeningen/{batch.id}/goedkeuren", data={"csrf_token": token})
    with client.session_transaction() as session:
        messages = [m for _c, m in session.get("_flashes", [])]
    assert any("door dezelfde beheerder" in m for m in messages)
    assert _status(world, batch.id) == "draft"


def test_a_bank_return_is_not_confirmed_by_an_account_of_the_recorders_lineage(world):
    honest = make_user(world.db, "admin")
    a_month(world)
    batch = create(world, by=world.finance)
    approve(world, batch.id, by=world.finance2)
    _reset(world, world.finance, asker=world.admin, confirmer=honest)
    _reset(world, world.finance2, asker=world.admin, confirmer=honest)
    with world.db.transaction() as s:
        entry = returns.request_return(s, world.actor(world.finance), batch.id, merchant_id=None, reason="rekening opgeheven")
    with world.db.transaction() as s, pytest.raises(FourEyes, match="lineage"):
        returns.confirm_return(s, world.actor(world.finance2), entry.id)
    with world.db.read() as s:
        assert s.get(type(entry), entry.id).status == entry.status  # still only recorded
    third = make_user(world.db, "finance")
    with world.db.transaction() as s:
        assert returns.confirm_return(s, world.actor(third), entry.id).changed

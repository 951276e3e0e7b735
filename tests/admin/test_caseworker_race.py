"""Two quick submissions by one case worker cannot both take the last award of the cap."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from pasdienst.access.accounts import actor_for
from pasdienst.access.models import User
from pasdienst.admin.errors import CapReached
from pasdienst.admin.models import CaseworkerAward
from pasdienst.admin.awards import register_child_by_caseworker
from pasdienst.admin.caps import set_caseworker_cap
from pasdienst.ledger import verify
from tests.factories import make_user

from .conftest import TODAY

pytestmark = pytest.mark.money


def test_the_last_award_of_the_cap_goes_to_one_submission_only(db, world, admin_settings):
    admin, worker = make_user(db, "admin"), make_user(db, "caseworker")
    with db.transaction() as s:
        set_caseworker_cap(s, actor_for(s, s.get(User, admin.id)), 2027, 1)
        actor = actor_for(s, s.get(User, worker.id))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(ref: str) -> None:
        start.wait()
        try:
            with db.transaction() as s:
                register_child_by_caseworker(
                    s, actor, {"child_ref": ref, "first_name": "Kind", "birth_date": "2016-06-01",
                               "override_reason": "huisbezoek"},
                    settings=admin_settings, today=TODAY,
                )
            outcomes.append("issued")
        except CapReached:
            outcomes.append("cap")

    threads = [threading.Thread(target=submit, args=(ref,)) for ref in ("R-1", "R-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["cap", "issued"]
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(CaseworkerAward)).scalar_one() == 1
        assert verify(s).ok

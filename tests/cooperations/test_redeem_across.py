"""A merchant of the cooperation takes every member's passes; each member's fund pays for its own children."""
from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from pasdienst import books
from pasdienst.access.accounts import actor_for_email
from pasdienst.cooperations import services as coop
from pasdienst.redeem import redemptions
from pasdienst.redeem.errors import NotAcceptedHere
from pasdienst.merchants.bindings import bind_voucher_code
from pasdienst.redeem.models import Redemption
from pasdienst.web.app import create_app
from tests.factories import bearer, make_token, make_user
from tests.cooperations.conftest import TODAY, at

pytestmark = pytest.mark.money

SPORT = ("budget", "sport_culture")
FULL = 15000  # the sample scheme's sport and culture budget


def test_a_child_of_one_member_pays_at_a_merchant_of_the_other_from_its_own_fund(region):
    noord_before = region.partition_totals()
    rid = region.redeem("sport", "zuid", 2500)

    assert region.voucher_balance("zuid") == FULL - 2500
    # The merchant of noord is owed by zuid, in zuid's partition; noord's books did not move.
    assert region.payable("sport", "zuid") == 2500
    assert region.payable("sport", "noord") == 0
    with region.db.read() as s:
        redemption = s.get(Redemption, rid)
        assert redemption.municipality_id == region.ids["zuid"]
    assert region.partition_totals() == noord_before == {code: 0 for code in noord_before}
    assert region.verify() == []


def test_both_ways_and_at_home(region):
    region.redeem("sport", "noord", 1000)
    region.redeem("sport", "zuid", 2000)
    region.redeem("mode", "noord", 3000)
    region.redeem("mode", "zuid", 4000)
    assert (region.payable("sport", "noord"), region.payable("sport", "zuid")) == (1000, 2000)
    assert (region.payable("mode", "noord"), region.payable("mode", "zuid")) == (3000, 4000)
    assert region.voucher_balance("noord") == FULL - 4000
    assert region.voucher_balance("zuid") == FULL - 6000
    assert region.verify() == []


@pytest.mark.parametrize("merchant, child_of", [("boek", "zuid"), ("sport", "elders"), ("elders", "noord")])
def test_who_is_not_in_the_cooperation_does_not_take_or_give(region, merchant, child_of):
    """A merchant of a member that was not admitted, a pass of a municipality outside it, a merchant outside it."""
    with pytest.raises(NotAcceptedHere):
        region.redeem(merchant, child_of, 500)
    with region.db.read() as s, pytest.raises(NotAcceptedHere):
        redemptions.scan(s, region.till(merchant), region.passes[child_of][0], settings=region.settings, today=TODAY)


def test_an_invited_member_is_not_a_member_until_its_admin_joins(db, region):
    admin = make_user(db, "admin", municipality="elders", email="beheer@elders.example")
    with db.transaction() as s:
        coop.invite_member(s, "regio", "elders")
    with pytest.raises(NotAcceptedHere):
        region.redeem("sport", "elders", 500)
    with db.transaction() as s:
        assert coop.join_cooperation(s, actor_for_email(s, admin.email), "elders").changed
    region.redeem("sport", "elders", 500)
    assert region.payable("sport", "elders") == 500
    # And its own merchant takes the others' passes once its admin admits it.
    with pytest.raises(NotAcceptedHere):
        region.redeem("elders", "zuid", 700)
    with db.transaction() as s:
        coop.admit_merchant(s, actor_for_email(s, admin.email), region.merchants["elders"])
    region.redeem("elders", "zuid", 700)
    assert region.payable("elders", "zuid") == 700
    assert region.verify() == []


def test_a_withdrawn_merchant_and_a_member_that_left_take_no_more_but_keep_what_is_owed(db, region):
    region.redeem("sport", "zuid", 1200)
    region.redeem("mode", "noord", 800)
    with db.transaction() as s:
        coop.withdraw_merchant(s, None, region.merchants["sport"])
    with pytest.raises(NotAcceptedHere):
        region.redeem("sport", "zuid", 100)
    region.redeem("sport", "noord", 100)  # its own municipality's passes as before
    with db.transaction() as s:
        coop.leave_cooperation(s, None, "zuid")
    with pytest.raises(NotAcceptedHere):
        region.redeem("mode", "noord", 100)
    assert region.payable("sport", "zuid") == 1200 and region.payable("mode", "noord") == 800
    assert region.verify() == []


def test_the_scan_lists_the_other_members_vouchers_the_merchant_takes(region):
    with region.db.read() as s:
        result = redemptions.scan(s, region.till("mode"), region.passes["noord"][0], settings=region.settings, today=TODAY)
    assert {(v.kind, v.category) for v in result.vouchers} == {("budget", "sport_culture"), ("punchcard", "sport_culture"), ("cheque", "clothing")}


def test_a_members_bindings_hold_at_the_others_merchants(db, region):
    """zuid binds its swimming punch card to its own pool: noord's sports club no longer takes it."""
    pool = region.merchants["mode"]  # zuid's merchant that takes sport_culture
    with db.transaction() as s:
        bind_voucher_code(s, pool, "zwemmen")
    with pytest.raises(NotAcceptedHere):
        with db.transaction() as s:
            redemptions.redeem(
                s, region.till("sport"), code=region.passes["zuid"][0], voucher_id=region.passes["zuid"][1][("punchcard", "sport_culture")],
                strips=1, idempotency_key="zwem-1", settings=region.settings, today=TODAY, now=at(10),
            )
    with region.db.read() as s:
        seen = redemptions.scan(s, region.till("sport"), region.passes["zuid"][0], settings=region.settings, today=TODAY)
    assert ("punchcard", "sport_culture") not in {(v.kind, v.category) for v in seen.vouchers}


def test_the_till_api_of_a_cooperation_merchant_takes_both_members_passes_at_once(db, region):
    """Eight tills of noord's sports club, each paying with a noord pass and a zuid pass at the
    same time through the lean path: every payment lands in the right member's books, exactly."""
    app = create_app(region.settings, db=db)
    app.config.update(TESTING=True)
    user = make_user(db, "merchant", municipality="noord", merchant_id=region.merchants["sport"])
    headers = bearer(make_token(db, user))
    tills = 8
    start = threading.Barrier(tills * 2)
    outcomes: list[tuple[str, int]] = []
    lock = threading.Lock()

    def pay(child_of: str) -> None:
        payload, vouchers = region.passes[child_of]
        client = app.test_client()
        start.wait()
        response = client.post(
            "/api/v1/redemptions",
            json={"code": payload, "voucher_id": vouchers[SPORT], "amount_cents": 700},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        with lock:
            outcomes.append((child_of, response.status_code))

    threads = [threading.Thread(target=pay, args=(member,)) for member in ("noord", "zuid") for _ in range(tills)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Counter(outcomes) == {("noord", 201): tills, ("zuid", 201): tills}
    assert region.voucher_balance("noord") == region.voucher_balance("zuid") == FULL - tills * 700
    assert region.payable("sport", "noord") == region.payable("sport", "zuid") == tills * 700
    with db.read() as s:
        made = s.execute(select(Redemption.municipality_id)).scalars().all()
    assert Counter(made) == {region.ids["noord"]: tills, region.ids["zuid"]: tills}
    assert set(region.partition_totals().values()) == {0}
    assert region.verify() == []


def test_a_void_at_the_other_members_merchant_gives_the_money_back_to_the_childs_own_voucher(db, region):
    rid = region.redeem("mode", "noord", 2200, when=at(15, 10))
    with db.transaction() as s:
        redemptions.void(s, region.till("mode"), rid, today=TODAY, now=at(15, 11))
    assert region.voucher_balance("noord") == FULL
    assert region.payable("mode", "noord") == 0
    assert region.balance(books.merchant_key("zuid", region.merchants["mode"])) == 0
    assert region.verify() == []


def test_the_pass_page_lists_the_other_members_merchants_that_take_the_pass(db, region):
    """Where a child from zuid can spend its pass: zuid's own clothes shop and
    noord's admitted sports club, not noord's bookshop (not admitted) nor elders'."""
    from pasdienst.merchants.places import WhereToSpend

    with db.read() as s:
        where = WhereToSpend(s, region.ids["zuid"])
        sport = [p.name for p in where.places("sport_culture", None)]
        clothes = [p.name for p in where.places("clothing", "fashioncheque")]
    assert sport == ["Mode Zuid", "Sportclub Noord"]
    assert clothes == ["Mode Zuid"]
    with db.transaction() as s:
        coop.withdraw_merchant(s, None, region.merchants["sport"])
    with db.read() as s:
        assert [p.name for p in WhereToSpend(s, region.ids["zuid"]).places("sport_culture", None)] == ["Mode Zuid"]

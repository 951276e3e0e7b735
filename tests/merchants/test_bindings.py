"""``pasdienst merchant bind|unbind|bindings``: punch cards and cheques that
only named merchants take (issue 4: "a cheque or punch card may also be bound
to named merchants")."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pasdienst.access.errors import Forbidden
from pasdienst.access.models import AuditEvent
from pasdienst.access.policy import Actor
from pasdienst.errors import NotFound
from pasdienst.merchants.bindings import bind_voucher_code, unbind_voucher_code
from pasdienst.merchants.models import VoucherBinding
from tests.factories import make_merchant
from tests.redeem.conftest import merchant_client


def bindings_and_audit(db) -> tuple[list[tuple[str, int]], int]:
    with db.read() as s:
        rows = s.execute(
            select(VoucherBinding.voucher_code, VoucherBinding.merchant_id).order_by(VoucherBinding.id)
        ).all()
        events = s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == "voucher_binding")
        ).scalar_one()
    return [tuple(r) for r in rows], events


def audit_trail(db) -> list[tuple[str, str, dict | None, dict | None]]:
    with db.read() as s:
        return [
            (e.action, e.actor_email, e.before, e.after)
            for e in s.execute(
                select(AuditEvent).where(AuditEvent.entity_type == "voucher_binding").order_by(AuditEvent.id)
            ).scalars()
        ]


def scanned_kinds(till, headers=None) -> list[str]:
    response = till.client.post("/api/v1/scan", json={"code": till.payload}, headers=headers or till.headers)
    assert response.status_code == 200, response.json
    return sorted(v["kind"] for v in response.json["vouchers"])


@pytest.mark.money  # a redemption is attempted: proven refused on both databases
def test_a_bound_punch_card_is_taken_only_at_the_merchants_it_is_bound_to(db, till, cli):
    pool = make_merchant(db, "testdorp", name="Zwembad De Welle", categories=("sport_culture",))
    pool_headers = merchant_client(db, till, categories=("sport_culture",), name="Zwembad Oost")
    assert scanned_kinds(till) == ["budget", "punchcard"]  # by category: the sports club takes it

    out = cli("merchant", "bind", str(pool), " Zwemmen ").output.splitlines()
    assert out == [
        f"bound punchcard zwemmen (sport_culture, testdorp) to Zwembad De Welle (merchant {pool})",
        f"zwemmen is accepted only at: Zwembad De Welle ({pool})",
    ]
    assert scanned_kinds(till) == ["budget"]
    assert scanned_kinds(till, pool_headers) == ["budget"]  # another pool of the same category: not bound
    card = till.vouchers[("punchcard", "sport_culture")]
    refused = till.redeem(voucher_id=card, strips=1)
    assert refused.status_code == 403 and refused.json["code"] == "not_accepted_here"
    assert audit_trail(db) == [
        ("voucher_binding.create", "cli", None,
         {"voucher_code": "zwemmen", "kind": "punchcard", "merchant_id": pool, "merchant": "Zwembad De Welle"}),
    ]


def test_binding_a_second_merchant_adds_it_and_binding_twice_changes_nothing(db, till, cli):
    pool = make_merchant(db, "testdorp", name="Zwembad De Welle", categories=("sport_culture",))
    cli("merchant", "bind", str(pool), "zwemmen")
    out = cli("merchant", "bind", str(till.merchant_id), "zwemmen").output.splitlines()
    assert out[-1] == f"zwemmen is accepted only at: Sportclub De Sprint ({till.merchant_id}), Zwembad De Welle ({pool})"
    assert scanned_kinds(till) == ["budget", "punchcard"]

    again = cli("merchant", "bind", str(pool), "zwemmen").output.splitlines()
    assert again[0] == f"Zwembad De Welle (merchant {pool}) was already bound to punchcard zwemmen (sport_culture, testdorp)"
    rows, events = bindings_and_audit(db)
    assert rows == [("zwemmen", pool), ("zwemmen", till.merchant_id)] and events == 2
    assert cli("merchant", "bindings", "testdorp").output == (
        f"zwemmen: Sportclub De Sprint ({till.merchant_id}), Zwembad De Welle ({pool})\n"
    )


def test_unbinding_the_last_merchant_gives_the_code_back_to_its_whole_category(db, till, cli):
    pool = make_merchant(db, "testdorp", name="Zwembad De Welle", categories=("sport_culture",))
    cli("merchant", "bind", str(pool), "zwemmen")
    assert scanned_kinds(till) == ["budget"]

    out = cli("merchant", "unbind", str(pool), "zwemmen").output.splitlines()
    assert out == [
        f"unbound punchcard zwemmen (sport_culture, testdorp) from Zwembad De Welle (merchant {pool})",
        "zwemmen is accepted again by every sport_culture merchant of testdorp",
    ]
    assert scanned_kinds(till) == ["budget", "punchcard"]
    assert bindings_and_audit(db) == ([], 2)
    assert [a[0] for a in audit_trail(db)] == ["voucher_binding.create", "voucher_binding.delete"]
    assert cli("merchant", "bindings", "testdorp").output == "no bindings in testdorp: every code goes by category\n"


def test_a_cheque_can_be_bound_to_a_clothing_shop(db, till, cli):
    shop = make_merchant(db, "testdorp", name="Mode & Zo", categories=("clothing",))
    out = cli("merchant", "bind", str(shop), "fashioncheque").output.splitlines()
    assert out[0] == f"bound cheque fashioncheque (clothing, testdorp) to Mode & Zo (merchant {shop})"


def _bad_cases(db, till) -> list[tuple[list[str], str]]:
    sports = str(till.merchant_id)
    elsewhere = make_merchant(db, "elders", name="Elders Zwembad", categories=("sport_culture",))
    return [
        (["bind", "999", "zwemmen"], "error: no merchant 999"),
        (["bind", sports, "zwemen"], "error: testdorp has no punch card or cheque with code 'zwemen' (its codes: fashioncheque, zwemmen)"),
        (["bind", sports, "sport_culture"], "error: testdorp has no punch card or cheque with code 'sport_culture' (its codes: fashioncheque, zwemmen)"),
        (["bind", sports, "  "], "error: give the code of a punch card or cheque, e.g. zwemmen"),
        (["bind", str(elsewhere), "zwemmen"], "error: elders has no punch card or cheque with code 'zwemmen' (its schemes have none)"),
        (["bind", sports, "fashioncheque"],
         f"error: Sportclub De Sprint (merchant {sports}) does not take clothing vouchers (its categories: sport_culture), "
         "so it could never accept cheque fashioncheque"),
        (["unbind", sports, "zwemmen"], f"error: Sportclub De Sprint (merchant {sports}) is not bound to punchcard zwemmen"),
        (["bindings", "nergensdorp"], "error: no municipality 'nergensdorp'"),
    ]


def test_a_bad_binding_is_refused_with_a_one_line_reason_and_changes_nothing(db, till, cli):
    cases = _bad_cases(db, till)
    before = bindings_and_audit(db)
    for args, message in cases:
        result = cli("merchant", *args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.splitlines() == [message], args
        assert bindings_and_audit(db) == before, args


OTHERS = Actor(user_id=None, email="beheer@elders.example", role="admin", municipality_id=999, municipality_code="elders")


def test_only_an_admin_may_bind(db, till):
    merchant = Actor(user_id=None, email="kassa@testdorp.example", role="merchant", municipality_id=None,
                     municipality_code=None, merchant_id=till.merchant_id)
    with pytest.raises(Forbidden), db.transaction() as s:
        bind_voucher_code(s, till.merchant_id, "zwemmen", actor=merchant)
    assert bindings_and_audit(db) == ([], 0)


def test_another_municipalitys_admin_finds_no_merchant_to_bind(db, till):
    """As for the merchant's record (CONTRACT: ``not_found``, "or not visible to you"): its existence stays private."""
    with pytest.raises(NotFound) as refused, db.transaction() as s:
        bind_voucher_code(s, till.merchant_id, "zwemmen", actor=OTHERS)
    assert (refused.type, refused.value.code, refused.value.refusal) == (NotFound, "not_found", "merchant_not_found")
    assert bindings_and_audit(db) == ([], 0)


def test_another_municipalitys_admin_finds_no_merchant_to_unbind(db, till, cli):
    pool = make_merchant(db, "testdorp", name="Zwembad De Welle", categories=("sport_culture",))
    cli("merchant", "bind", str(pool), "zwemmen")
    before = bindings_and_audit(db)
    with pytest.raises(NotFound) as refused, db.transaction() as s:
        unbind_voucher_code(s, pool, "zwemmen", actor=OTHERS)
    assert (refused.type, refused.value.code, refused.value.refusal) == (NotFound, "not_found", "merchant_not_found")
    assert bindings_and_audit(db) == before == ([("zwemmen", pool)], 1)

"""A code names one pass. A code of any other pass is refused exactly like an
unknown one, and wrong typed codes count toward the typed-code limits
wherever a code is accepted: at the scan and at the redemption."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from pasdienst.access.models import User
from pasdienst.access.services import actor_for_email
from pasdienst.redeem import redemptions
from pasdienst.redeem.models import Redemption, Refusal
from pasdienst.wallet import codes, tokens
from pasdienst.wallet.errors import InvalidCode
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.services import reissue_pass, resolve_pass

from .conftest import TODAY, merchant_client

pytestmark = pytest.mark.money


def unknown_typed_code(n: int = 0) -> str:
    """A well-formed code (its check character right) that no pass has."""
    body = f"ZZZZZZZZZ{n:02d}"
    return codes.display(body + codes.check_character(body))


def unknown_qr(till) -> str:
    """A QR payload whose MAC verifies but whose pass does not exist."""
    return tokens.payload_for(till.settings, tokens.new_handle())


def redemption_count(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Redemption)).scalar_one()


def typed_refusals(db) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(r.action, r.reason) for r in s.execute(select(Refusal).where(Refusal.typed_code.is_(True))).scalars()]


def reissue_sanne(db, till) -> int:
    """Reissues Sanne's pass; the new pass's sport budget voucher id."""
    with db.transaction() as s:
        old = resolve_pass(s, till.payload, settings=till.settings, today=TODAY)
        new = reissue_pass(s, old.pass_number, settings=till.settings, today=TODAY)
        return s.execute(
            select(Voucher.id).where(Voucher.pass_id == new.id, Voucher.kind == "budget", Voucher.category == "sport_culture")
        ).scalar_one()


# -- another pass's code is an unknown code --------------------------------------

def test_a_code_of_another_pass_is_refused_exactly_like_an_unknown_code(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    unknown = till.redeem("u1", code=unknown_typed_code(), voucher_id=voucher, amount_cents=100)
    assert (unknown.status_code, unknown.json["code"]) == (422, "invalid_code")
    answers = {
        "an unknown QR": till.redeem("u2", code=unknown_qr(till), voucher_id=voucher, amount_cents=100),
        "another child's typed code": till.redeem("o1", code=till.other_code, voucher_id=voucher, amount_cents=100),
        "another child's QR": till.redeem("o2", code=till.other_payload, voucher_id=voucher, amount_cents=100),
    }
    for what, answer in answers.items():
        assert (answer.status_code, answer.json) == (unknown.status_code, unknown.json), what
    assert redemption_count(db) == 0


def test_the_old_codes_of_a_reissued_pass_say_so_and_do_not_count_as_wrong_codes(db, till):
    """The cashier is told the pass was replaced (the family has a new letter)
    instead of "invalid", which would have them type it again; with another
    pass's voucher the old code is another pass's code, unknown as any."""
    old_voucher = till.vouchers[("budget", "sport_culture")]
    new_voucher = reissue_sanne(db, till)
    unknown = till.redeem("u", code=unknown_typed_code(), voucher_id=new_voucher, amount_cents=100)
    for n, code in enumerate((till.code, till.payload)):
        answer = till.redeem(f"old-{n}", code=code, voucher_id=old_voucher, amount_cents=100)
        assert (answer.status_code, answer.json["code"], answer.json["reason"]) == (409, "pass_blocked", "replaced")
        answer = till.redeem(f"new-{n}", code=code, voucher_id=new_voucher, amount_cents=100)
        assert (answer.status_code, answer.json) == (unknown.status_code, unknown.json), code
    for code in (till.code, till.payload):
        scanned = till.post("/api/v1/scan", json={"code": code})
        assert (scanned.status_code, scanned.json["code"], scanned.json["reason"]) == (409, "pass_blocked", "replaced")
    assert redemption_count(db) == 0
    # only the unknown code and the old typed code with the new pass's voucher were wrong codes
    assert typed_refusals(db) == [("redeem", "invalid_code")] * 2


def test_a_code_of_another_pass_is_refused_by_the_same_work_as_an_unknown_code(db, till):
    """Not a timing measurement: the statements run are the same, so nothing
    but the answer (which is the same) could tell a real code from a guess."""
    voucher = till.vouchers[("budget", "sport_culture")]
    with db.read() as s:
        email = s.execute(select(User.email).where(User.merchant_id == till.merchant_id)).scalar_one()
        actor = actor_for_email(s, email)

    def statements_of(code: str) -> tuple[str, list[str]]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args):  # noqa: ANN001, ANN002
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with db.transaction() as s:
                redemptions.redeem(
                    s, actor, code=code, voucher_id=voucher, amount_cents=100, idempotency_key="k",
                    settings=till.settings, today=TODAY,
                )
        except InvalidCode as exc:
            return str(exc), seen
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        raise AssertionError(f"{code} was taken")

    for real, guess in ((till.other_code, unknown_typed_code()), (till.other_payload, unknown_qr(till))):
        assert statements_of(real) == statements_of(guess)


# -- the typed-code limit holds at the redemption too ------------------------------

def test_wrong_typed_codes_at_the_redemption_lock_the_merchant_out_of_code_lookups(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    wrong = [unknown_typed_code(n) for n in range(8)] + [till.other_code, till.code[:-1] + "*"]
    for n, code in enumerate(wrong):
        answer = till.redeem(f"w{n}", code=code, voucher_id=voucher, amount_cents=100)
        assert (answer.status_code, answer.json["code"]) == (422, "invalid_code"), code
    assert typed_refusals(db) == [("redeem", "invalid_code")] * len(wrong)

    refused = till.redeem("right", code=till.code, voucher_id=voucher, amount_cents=100)
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "600"
    # the scan shares the count; the QR still works: the limit is on guessing codes
    assert till.post("/api/v1/scan", json={"code": till.code}).status_code == 429
    assert till.redeem("qr", code=till.payload, voucher_id=voucher, amount_cents=100).status_code == 201
    assert redemption_count(db) == 1


def test_wrong_typed_codes_at_scan_and_redemption_add_up(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    for n in range(5):
        assert till.post("/api/v1/scan", json={"code": unknown_typed_code(n)}).json["code"] == "invalid_code"
        assert till.redeem(f"w{n}", code=unknown_typed_code(n), voucher_id=voucher, amount_cents=100).json["code"] == "invalid_code"
    refused = till.redeem("right", code=till.code, voucher_id=voucher, amount_cents=100)
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited"


def test_a_retry_of_a_typed_code_redemption_that_was_taken_still_gets_its_receipt_after_the_limit(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    taken = till.redeem("taken", code=till.code, voucher_id=voucher, amount_cents=100)
    assert taken.status_code == 201
    for n in range(10):
        till.redeem(f"w{n}", code=unknown_typed_code(n), voucher_id=voucher, amount_cents=100)
    retry = till.redeem("taken", code=till.code, voucher_id=voucher, amount_cents=100)
    assert retry.status_code == 201 and retry.json["receipt_no"] == taken.json["receipt_no"]
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_the_address_limit_on_wrong_typed_codes_is_shared_by_scan_and_redemption(db, till):
    """Twenty wrong typed codes from one address in ten minutes, whichever
    merchant logins and endpoints they came through; QR codes pass."""
    voucher = till.vouchers[("budget", "sport_culture")]
    second = merchant_client(db, till, categories=("sport_culture",), name="Zwembad De Plons")
    third = merchant_client(db, till, categories=("sport_culture",), name="Dansschool Swing")
    for n in range(10):
        assert till.post("/api/v1/scan", json={"code": unknown_typed_code(n)}).status_code == 422
        answer = till.post(
            "/api/v1/redemptions", json={"code": unknown_typed_code(n), "voucher_id": voucher, "amount_cents": 100},
            headers={**second, "Idempotency-Key": f"w{n}"},
        )
        assert answer.status_code == 422
    # a third merchant has typed nothing wrong itself, but the address has
    fresh = {"Authorization": third["Authorization"]}
    refused = till.client.post(
        "/api/v1/redemptions", json={"code": till.code, "voucher_id": voucher, "amount_cents": 100},
        headers={**fresh, "Idempotency-Key": "right"},
    )
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited" and "Retry-After" in refused.headers
    assert till.client.post("/api/v1/scan", json={"code": till.code}, headers=fresh).status_code == 429
    assert till.client.post("/api/v1/scan", json={"code": till.payload}, headers=fresh).status_code == 200
    taken = till.client.post(
        "/api/v1/redemptions", json={"code": till.payload, "voucher_id": voucher, "amount_cents": 100},
        headers={**fresh, "Idempotency-Key": "qr"},
    )
    assert taken.status_code == 201

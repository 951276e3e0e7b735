"""A code names one pass. A code of any other pass is refused exactly like an
unknown one, and wrong typed codes count toward the typed-code limits
wherever a code is accepted: at the scan and at the redemption."""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from pasdienst.access.models import User
from pasdienst.access.accounts import actor_for_email
from pasdienst.access.web import token_login
from pasdienst.redeem.errors import RateLimited
from pasdienst.redeem import redemptions
from pasdienst.redeem.models import Redemption, Refusal
from pasdienst.wallet import codes, tokens
from pasdienst.wallet.errors import InvalidCode
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.services import reissue_pass, resolve_pass

from tests.factories import TODAY, api_headers, bearer, login_as, make_token, make_user

from .conftest import merchant_client

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

        def count(_conn, _cursor, statement, *_args):
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

def test_wrong_typed_codes_at_the_redemption_lock_that_till_login_out_of_code_lookups(db, till):
    voucher = till.vouchers[("budget", "sport_culture")]
    wrong = [unknown_typed_code(n) for n in range(8)] + [till.other_code, till.code[:-1] + "*"]
    for n, code in enumerate(wrong):
        answer = till.redeem(f"w{n}", code=code, voucher_id=voucher, amount_cents=100)
        assert (answer.status_code, answer.json["code"]) == (422, "invalid_code"), code
    assert typed_refusals(db) == [("redeem", "invalid_code")] * len(wrong)

    refused = till.redeem("right", code=till.code, voucher_id=voucher, amount_cents=100)
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited"
    assert refused.json["limit"] == "login"
    assert 590 <= int(refused.headers["Retry-After"]) == refused.json["retry_after"] <= 600  # the ten-minute window
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
    """Forty wrong typed codes from one address in ten minutes, whichever
    merchant logins and endpoints they came through; QR codes pass."""
    voucher = till.vouchers[("budget", "sport_culture")]
    others = [
        merchant_client(db, till, categories=("sport_culture",), name=name)
        for name in ("Zwembad De Plons", "Dansschool Swing", "Muziekschool Forte")
    ]
    for n in range(10):
        assert till.post("/api/v1/scan", json={"code": unknown_typed_code(n)}).status_code == 422
        for m, other in enumerate(others):
            answer = till.post(
                "/api/v1/redemptions", json={"code": unknown_typed_code(n), "voucher_id": voucher, "amount_cents": 100},
                headers={**other, "Idempotency-Key": f"w{m}-{n}"},
            )
            assert answer.status_code == 422
    # a fifth merchant has typed nothing wrong itself, but the address has
    fresh = {"Authorization": merchant_client(db, till, categories=("sport_culture",), name="Judo Kwai")["Authorization"]}
    refused = till.client.post(
        "/api/v1/redemptions", json={"code": till.code, "voucher_id": voucher, "amount_cents": 100},
        headers={**fresh, "Idempotency-Key": "right"},
    )
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited" and "Retry-After" in refused.headers
    assert refused.json["limit"] == "address" and refused.json["retry_after"] == int(refused.headers["Retry-After"])
    assert till.client.post("/api/v1/scan", json={"code": till.code}, headers=fresh).status_code == 429
    assert till.client.post("/api/v1/scan", json={"code": till.payload}, headers=fresh).status_code == 200
    taken = till.client.post(
        "/api/v1/redemptions", json={"code": till.payload, "voucher_id": voucher, "amount_cents": 100},
        headers={**fresh, "Idempotency-Key": "qr"},
    )
    assert taken.status_code == 201


# -- a lockout that fits a busy counter: per till login, and a higher ceiling per merchant --

def _login_of(db, till) -> dict:
    """Another till login of the same merchant (its own API token)."""
    user = make_user(db, "merchant", municipality="testdorp", merchant_id=till.merchant_id)
    return bearer(make_token(db, user))


def _scan(till, headers: dict, code: str, address: str = "127.0.0.1"):
    return till.client.post("/api/v1/scan", json={"code": code}, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_a_careless_till_locks_out_only_itself(db, till):
    careless, colleague = till.headers, _login_of(db, till)
    for n in range(10):
        assert _scan(till, careless, unknown_typed_code(n)).json["code"] == "invalid_code"
    refused = _scan(till, careless, till.code)
    assert (refused.status_code, refused.json["limit"]) == (429, "login")
    # the colleague at the next till types the same real code and it works
    assert _scan(till, colleague, till.code).status_code == 200
    assert _scan(till, colleague, unknown_typed_code(11)).json["code"] == "invalid_code"
    # and the careless till can still scan the QR code
    assert _scan(till, careless, till.payload).status_code == 200


def test_the_tills_of_a_merchant_share_a_higher_ceiling(db, till):
    """Four logins, each below its own limit, 30 wrong codes together (each
    till on its own network, as phones on 4G are): every till of the merchant
    is held back from typing, none of another merchant's is, QR codes pass."""
    logins = [till.headers] + [_login_of(db, till) for _ in range(3)]
    for login, (address, wrong) in zip(logins, [("10.0.0.1", 9), ("10.0.0.2", 9), ("10.0.0.3", 9), ("10.0.0.4", 3)]):
        for n in range(wrong):
            assert _scan(till, login, unknown_typed_code(n), address).json["code"] == "invalid_code"
    for login in logins + [_login_of(db, till)]:  # a till that just logged in too
        refused = _scan(till, login, till.code, "10.0.0.5")
        assert (refused.status_code, refused.json["limit"]) == (429, "merchant")
        assert 590 <= refused.json["retry_after"] <= 600
        assert _scan(till, login, till.payload, "10.0.0.5").status_code == 200
    elsewhere = merchant_client(db, till, categories=("sport_culture",), name="Zwembad De Plons")
    assert _scan(till, elsewhere, till.code, "10.0.0.6").status_code == 200


def _wrong_codes_at(db, till, moments: list[datetime], login: str | None) -> None:
    with db.transaction() as s:
        for moment in moments:
            s.add(Refusal(merchant_id=till.merchant_id, action="scan", reason="invalid_code", typed_code=True,
                          till=login, at=moment))


def _seconds_since(moment: datetime) -> int:
    return math.ceil((datetime.now(timezone.utc) - moment).total_seconds())


def test_the_wait_named_is_until_the_failure_that_tipped_the_limit_ages_out(db, till):
    """Ten wrong codes of this login in the window, the oldest nine minutes
    ago: typing works again in one minute, when that one is ten minutes old."""
    login = token_login(hashlib.sha256(till.headers["Authorization"][7:].encode()).hexdigest())
    now = datetime.now(timezone.utc)
    _wrong_codes_at(db, till, [now - timedelta(minutes=11)] * 5, login)  # aged out: do not count
    _wrong_codes_at(db, till, [now - timedelta(minutes=9)] + [now - timedelta(minutes=2)] * 9, login)
    refused = _scan(till, till.headers, till.code)
    assert (refused.status_code, refused.json["limit"]) == (429, "login")
    # 60 s from ``now``, less the seconds this test has taken so far (a busy machine may take several)
    assert 60 - _seconds_since(now) <= refused.json["retry_after"] == int(refused.headers["Retry-After"]) <= 60
    # The merchant's ceiling, over all its logins: with 21 of another login, 31
    # in the window, the 30th newest eight minutes old.
    _wrong_codes_at(db, till, [now - timedelta(minutes=8)] + [now - timedelta(minutes=1)] * 20, "t:another")
    refused = _scan(till, _login_of(db, till), till.code)
    assert (refused.status_code, refused.json["limit"]) == (429, "merchant")
    assert 120 - _seconds_since(now) <= refused.json["retry_after"] <= 120
    # both limits hit: the longer wait is named
    refused = _scan(till, till.headers, till.code)
    assert (refused.json["limit"], refused.json["retry_after"] > 100) == ("merchant", True)


def test_the_service_counts_per_till_login_and_merchant(db, till):
    with db.read() as s:
        email = s.execute(select(User.email).where(User.merchant_id == till.merchant_id)).scalar_one()
        actor = actor_for_email(s, email)
    now = datetime.now(timezone.utc)
    minute_ago = [now - timedelta(minutes=1)]
    for login in ("t:one", "t:two", "t:three"):
        _wrong_codes_at(db, till, minute_ago * 9, login)

    def check(login: str) -> str | None:
        with db.read() as s:
            try:
                redemptions.check_typed_code_budget(s, actor, till=login, now=now)
            except RateLimited as exc:
                return exc.details["limit"]
        return None

    assert [check(login) for login in ("t:one", "t:two", "t:new")] == [None, None, None]  # 9 of 10 each, 27 of 30
    _wrong_codes_at(db, till, minute_ago, "t:one")
    assert [check(login) for login in ("t:one", "t:two", "t:new")] == ["login", None, None]
    _wrong_codes_at(db, till, minute_ago * 2, None)  # from before logins were counted: the merchant's only
    assert [check(login) for login in ("t:one", "t:two", "t:new")] == ["merchant"] * 3
    # another merchant's count is its own
    other = merchant_client(db, till, categories=("sport_culture",), name="Zwembad De Plons")
    assert _scan(till, other, till.code).status_code == 200


def test_two_phones_logged_in_with_one_merchant_account_are_two_tills(db, till):
    """Per till login means per login session: a club that shares one account
    on several phones still has each phone count for itself."""
    user = make_user(db, "merchant", municipality="testdorp", merchant_id=till.merchant_id)
    phones = [till.app.test_client(), till.app.test_client()]
    for phone in phones:
        login_as(phone, user)

    def scan(phone, code: str):
        return phone.post("/api/v1/scan", json={"code": code}, headers=api_headers(phone))

    for n in range(10):
        assert scan(phones[0], unknown_typed_code(n)).json["code"] == "invalid_code"
    assert scan(phones[0], till.code).json["limit"] == "login"
    assert scan(phones[1], till.code).status_code == 200
    with db.read() as s:
        tills = s.execute(select(Refusal.till).where(Refusal.typed_code.is_(True))).scalars().all()
    assert len(tills) == 10 and len(set(tills)) == 1 and tills[0].startswith("s:")

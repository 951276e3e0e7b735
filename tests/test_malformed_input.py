"""Malformed input is a clear 4xx (a Dutch page, or ``validation_error`` on the
API, or one line from the CLI), never a 500 or a traceback.

The rules, route by route; ``tests/fuzz/test_page_forms.py`` walks every
form and filter with the same kinds of values. NUL only breaks PostgreSQL,
so those tests run on both databases.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from pasdienst.access.models import AuditEvent, User
from pasdienst.admin.models import CaseworkerCap
from pasdienst.merchants.models import Merchant
from pasdienst.settlement.models import SettlementBatch
from pasdienst.wallet.models import Child, Scheme
from pasdienst.web.inputguard import MAX_JSON_DEPTH, json_problem
from tests.factories import SCHEME, TEST_IBANS, api_headers, bearer, login_as, make_token, make_user, page_csrf_token

BIG = "9" * 5000


def _count(db, model) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _dutch_refusal(response) -> None:
    assert response.status_code == 400, response.status_code
    assert response.mimetype == "text/html"
    assert "Ongeldige invoer" in response.get_data(as_text=True)


# -- NUL ----------------------------------------------------------------------------


@pytest.mark.money
@pytest.mark.parametrize("field", ["email", "password"])
def test_a_nul_in_the_login_form_is_a_dutch_400_on_every_database(client, db, field):
    user = make_user(db, "admin")
    form = {"email": user.email, "password": "x", field: "beheer\x00@testdorp.example"}
    response = client.post("/login", data=form, headers={"X-CSRFToken": page_csrf_token(client)})
    _dutch_refusal(response)
    with db.read() as s:
        assert s.execute(select(User.last_login_at).where(User.id == user.id)).scalar() is None


@pytest.mark.money
@pytest.mark.parametrize("field", ["municipality", "name", "kvk_number", "address", "iban", "contact_email", "categories"])
def test_a_nul_in_any_field_of_the_merchant_signup_is_a_dutch_400_and_stores_nothing(client, db, field):
    make_user(db, "admin")  # the municipality
    form = {
        "municipality": "testdorp", "name": "Zwembad De Vennen", "kvk_number": "12345678", "address": "Dorpsstraat 1",
        "iban": TEST_IBANS[1], "contact_email": "info@vennen.example", "categories": "sport_culture",
    }
    form[field] = form[field][:3] + "\x00" + form[field][3:]
    response = client.post("/merchant/signup", data=form, headers={"X-CSRFToken": page_csrf_token(client)})
    _dutch_refusal(response)
    assert _count(db, Merchant) == 0


@pytest.mark.money
def test_a_nul_in_a_search_or_filter_of_the_staff_pages_is_a_dutch_400(client, db):
    login_as(client, "admin")
    for url in ("/admin/kinderen?q=Sanne%00", "/admin/auditlog?actor=%00", "/admin/auditlog?entity_id=1%00"):
        _dutch_refusal(client.get(url))


@pytest.mark.money
def test_a_nul_in_a_staff_form_is_a_dutch_400_and_changes_nothing(client, db):
    login_as(client, "admin")
    response = client.post(
        "/admin/gebruikers", data={"email": "nieuw\x00@testdorp.example", "role": "finance"}, headers=api_headers(client)
    )
    _dutch_refusal(response)
    assert _count(db, User) == 1


@pytest.mark.money
def test_a_nul_in_any_json_field_is_a_validation_error_naming_the_field(client, db):
    till = bearer(make_token(db, make_user(db, "merchant")))
    admin = bearer(make_token(db, make_user(db, "admin")))
    cases = [
        ("/api/v1/scan", till, {"code": "ABCD\x00EFGH"}, "code"),
        ("/api/v1/redemptions", {**till, "Idempotency-Key": "k1"}, {"code": "\x00", "voucher_id": 1, "amount_cents": 1}, "code"),
        ("/api/v1/municipalities/testdorp/merchants", admin,
         {"name": "Zwembad", "categories": ["sport\x00_culture"], "iban": TEST_IBANS[1]}, "categories.0"),
        ("/api/v1/scan", till, {"code": "x", "extra": {"na\x00me": 1}}, "extra"),
    ]
    for path, headers, body, field in cases:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.get_json())
        problem = response.get_json()
        assert response.mimetype == "application/problem+json"
        assert problem["code"] == "validation_error" and list(problem["errors"]) == [field], problem
    assert _count(db, Merchant) == 1  # the merchant user's own


def test_a_nul_in_a_page_address_is_a_dutch_400(client):
    _dutch_refusal(client.get("/p/abc%00def"))


# -- JSON that no parser should be handed -------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"code": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
        '{"code": "x", "voucher_id": ' + BIG + ', "amount_cents": 1}',
        '{"code": "x", "voucher_id": 1, "amount_cents": -' + "1" * 400 + "}",
    ],
    ids=["100000-deep", "41-deep", "5000-digits", "400-digits"],
)
def test_deep_or_endless_json_is_a_validation_error_not_a_crash(client, db, body):
    till = bearer(make_token(db, make_user(db, "merchant")))
    for path in ("/api/v1/redemptions", "/api/v1/scan"):
        response = client.post(path, data=body, content_type="application/json", headers={**till, "Idempotency-Key": "k1"})
        assert response.status_code == 422, path
        assert response.get_json()["code"] == "validation_error" and list(response.get_json()["errors"]) == ["json"]


def test_the_json_check_passes_what_is_nested_or_long_only_inside_text():
    assert json_problem(b'{"code": "' + b"[" * 500 + b"9" * 500 + b'"}') is None
    assert json_problem(("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode()) is None
    assert json_problem(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode()) is not None
    # An escaped backslash before "u0000" is the text \u0000, not a NUL.
    assert json_problem(b'{"code": "\\\\u0000"}') is None
    assert json_problem(b'{"code": "\\\\\\u0000"}') == ("code", "text cannot contain a NUL character")


# -- numbers and dates in filters and forms --------------------------------------------


@pytest.mark.parametrize("raw", ["0001-01-01", "9999-12-31", "0000-01-01", "99999-01-01", "2027-02-30", "2027-١٢-01", "1-1-2027"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_an_audit_log_date_outside_the_calendar_is_named_in_dutch(client, db, raw, name):
    login_as(client, "admin")
    response = client.get(f"/admin/auditlog?{name}={raw}")
    assert response.status_code == 422
    assert "Vul een datum in als JJJJ-MM-DD" in response.get_data(as_text=True)


def test_audit_log_dates_in_range_still_filter(client, db):
    login_as(client, "admin")
    assert client.get("/admin/auditlog?from=2000-01-01&to=2100-12-31").status_code == 200


@pytest.mark.parametrize("before", [str(2**63), BIG, "١٢", "-5"])
def test_an_audit_log_page_marker_that_is_no_id_shows_the_newest_events(client, db, before):
    login_as(client, "admin")
    assert client.get(f"/admin/auditlog?before={before}").status_code == 200


@pytest.mark.parametrize("year", ["²", "٢٠٢٧", BIG, "99999", "1999"])
@pytest.mark.parametrize("path", ["/admin/gebruik", "/admin/consulenten"])
def test_a_year_filter_that_is_not_a_year_is_refused_in_dutch(client, db, path, year):
    login_as(client, "admin")
    response = client.get(f"{path}?year={year}")
    assert response.status_code == 422
    assert "Kies een jaar van 2000 tot en met 2100" in response.get_data(as_text=True)


def test_a_caseworker_limit_for_a_mistyped_year_is_refused_not_set_for_this_year(client, db):
    login_as(client, "admin")
    response = client.post("/admin/consulenten/limiet?year=²", data={"max_passes": "5"}, headers=api_headers(client))
    assert response.status_code == 422
    assert _count(db, CaseworkerCap) == 0


@pytest.mark.money
@pytest.mark.parametrize("until", ["0001-01-01", "1999-12-31", "9999-12-31", "2027-02-30", BIG])
def test_a_settlement_date_outside_the_calendar_is_asked_again_and_makes_no_batch(client, db, until):
    login_as(client, "finance")
    response = client.post("/finance/afrekeningen", data={"until": until}, headers=api_headers(client))
    assert response.status_code == 302
    assert "Kies de datum" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _count(db, SettlementBatch) == 0


@pytest.mark.money
def test_settlement_create_on_the_command_line_refuses_year_one_in_one_line(cli, db):
    make_user(db, "finance", email="fin@testdorp.example")
    result = cli("settlement", "create", "testdorp", "--until", "0001-01-01", "--by", "fin@testdorp.example", ok=False)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "before 2000" in result.output


@pytest.mark.parametrize("number", [str(2**63), str(10**30), BIG, "١٢"])
@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("admin", "GET", "/admin/kinderen/{}"),
        ("admin", "POST", "/admin/passen/{}/blokkeren"),
        ("admin", "POST", "/admin/gebruikers/{}/wachtwoord"),
        ("finance", "GET", "/finance/afrekeningen/{}"),
        ("finance", "GET", "/finance/afrekeningen/1/aanbieder/{}"),
        ("merchant", "GET", "/merchant/uitbetalingen/{}"),
    ],
)
def test_an_id_in_an_address_beyond_64_bits_or_in_other_digits_is_a_404(client, db, role, method, path, number):
    login_as(client, role)
    response = client.open(path.format(number), method=method, headers=api_headers(client))
    assert response.status_code == 404


# -- TOML --------------------------------------------------------------------------------

NESTED_TOML = {
    "arrays": "a = " + "[" * 5000 + "]" * 5000 + "\n",
    "tables": "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",
    "digits": 'municipality = "testdorp"\nyear = ' + BIG + "\n",
}


@pytest.mark.parametrize("kind", sorted(NESTED_TOML))
def test_a_scheme_page_upload_nested_too_deep_or_with_endless_numbers_is_refused_in_dutch(client, db, kind):
    login_as(client, "admin")
    upload = {"file": (io.BytesIO(NESTED_TOML[kind].encode()), "regeling.toml")}
    response = client.post("/admin/regeling", data=upload, headers=api_headers(client), content_type="multipart/form-data")
    assert response.status_code == 422
    assert "De regeling is niet geladen" in response.get_data(as_text=True)
    assert _count(db, Scheme) == 0


@pytest.mark.parametrize("kind", sorted(NESTED_TOML))
def test_scheme_load_on_the_command_line_refuses_deep_nesting_and_endless_numbers_in_one_line(cli, db, tmp_path, kind):
    make_user(db, "admin")
    path = tmp_path / "regeling.toml"
    path.write_text(NESTED_TOML[kind])
    result = cli("scheme", "load", str(path), ok=False)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error: the scheme file is not valid TOML")
    assert _count(db, Scheme) == 0


def test_a_valid_scheme_still_loads_from_the_command_line(cli, db, tmp_path):
    make_user(db, "admin")
    path = tmp_path / "regeling.toml"
    path.write_text(SCHEME)
    assert "scheme created" in cli("scheme", "load", str(path)).output


# -- files -------------------------------------------------------------------------------


def test_a_bsn_in_other_digits_rejects_the_row_not_the_import(client, db):
    login_as(client, "admin")
    csv = "child_ref;first_name;birth_date;bsn\nK-1;Nora;2017-06-01;²²²²²²²²²\nK-2;Omar;2016-06-01;\n".encode()
    upload = {"file": (io.BytesIO(csv), "kinderen.csv")}
    response = client.post("/admin/import", data=upload, headers=api_headers(client), content_type="multipart/form-data")
    assert response.status_code == 200
    with db.read() as s:
        assert s.execute(select(Child.child_ref)).scalars().all() == ["K-2"]


def test_no_refusal_here_writes_an_audit_event(client, db):
    login_as(client, "admin")
    before = _count(db, AuditEvent)
    client.get("/admin/auditlog?from=0001-01-01")
    client.post("/admin/gebruikers", data={"email": "a\x00@b.example", "role": "admin"}, headers=api_headers(client))
    assert _count(db, AuditEvent) == before


def test_an_ordinary_day_is_read_as_before():
    from pasdienst.web.parsing import day, whole_number

    assert day("2027-03-15") == date(2027, 3, 15) and day(" 2027-03-15 ") == date(2027, 3, 15)
    assert day("20270315") is None and day("2027-W11-1") is None
    assert whole_number("2027", low=2000, high=2100) == 2027 and whole_number(" 7 ", low=0, high=9) == 7


@pytest.mark.parametrize("year", [BIG, "²", "-1"])
def test_an_issue_preview_for_a_year_that_is_no_year_shows_the_default_year(client, db, year):
    login_as(client, "admin")
    assert client.get(f"/admin/passen-uitgeven?jaar={year}").status_code == 200


@pytest.mark.parametrize("ref", ["²", "١٢", "KP-٢٠٢٧-000001", "9" * 30, "KP-2027-" + "9" * 30])
@pytest.mark.parametrize("command", ["show", "block"])
def test_a_pass_reference_in_other_digits_or_beyond_64_bits_is_one_line_on_the_command_line(cli, db, command, ref):
    make_user(db, "admin", email="beheer@testdorp.example")
    args = ["passes", command, ref] + (["--reason", "kwijt"] if command == "block" else [])
    result = cli(*args, ok=False)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error:"), result.output

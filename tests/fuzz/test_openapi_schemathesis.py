"""schemathesis against every operation of ``/api/v1/openapi.json``.

The Flask app runs in-process (WSGI) on a seeded world: a municipality with
issued passes, a merchant at the till with redemptions of its own, and staff
of every role. Generated requests carry real values part of the time
(schemathesis dictionaries bound to parameters), so they reach the code paths
behind a verified pass, an existing voucher or a redemption of today instead
of stopping at ``invalid_code`` or ``forbidden``.

Every response must be documented: its status code, its content type
(``application/problem+json`` for errors) and its body against the schema;
no 5xx; malformed input is rejected; schema-valid input is not refused as
malformed; every problem carries a code CONTRACT.md gives its status.

One pytest item runs every operation (positive and negative cases, through
hypothesis and ``operation.as_strategy``) rather than ``schema.parametrize()``:
the cases are counted across all operations even under xdist, and the world
needs fixtures, which schemathesis's lazy loader does not reach on pytest 9.2.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from pasdienst.access.web import access_rule
from pasdienst.wallet.lifecycle import block_pass, resolve_pass
from tests.factories import TEST_IBANS, TODAY, bearer, issue_world, make_merchant, make_token, make_user

MIN_CASES = 1_000
MUNICIPALITY = "testdorp"
#: Roles whose tokens the world holds, in the order they take turns.
ROLES = ("merchant", "admin", "finance", "caseworker")


@dataclass
class World:
    app: Any
    tokens: dict[str, str]
    #: (METHOD, OpenAPI path) -> the roles the view allows, from ``@requires``.
    roles: dict[tuple[str, str], tuple[str, ...]]
    dictionaries: dict[str, list[Any]]
    cases: Counter = field(default_factory=Counter)
    #: ((METHOD, path), status) -> responses
    statuses: Counter = field(default_factory=Counter)

    def headers_for(self, method: str, path: str) -> dict[str, str]:
        """A token of a role the operation allows, taking turns when it allows several."""
        allowed = self.roles[(method.upper(), path)]
        role = allowed[self.cases[(method.upper(), path)] % len(allowed)]
        return bearer(self.tokens[role])


def _openapi_path(rule: str) -> str:
    """``/x/<int:id>`` as OpenAPI writes it: ``/x/{id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _roles_by_operation(app: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            access = access_rule(app.view_functions[rule.endpoint], method)
            if access is not None:
                found[(method, _openapi_path(rule.rule))] = tuple(r for r in ROLES if r in access[0])
    return found


@pytest.fixture
def world(db, settings, monkeypatch) -> World:
    from pasdienst.web.app import create_app

    # Far above what the fuzzer sends a minute; the limits have tests of their own.
    world_settings = replace(settings, today=TODAY, till_rate_limit="100000 per minute")
    rows, vouchers = issue_world(db, world_settings)
    merchant_id = make_merchant(db, MUNICIPALITY, name="Sportclub De Sprint", categories=("sport_culture", "clothing"))
    other_merchant_id = make_merchant(db, MUNICIPALITY, name="Boekhandel Lees", categories=("school",))
    tokens = {
        "merchant": make_token(db, make_user(db, "merchant", merchant_id=merchant_id)),
        "admin": make_token(db, make_user(db, "admin")),
        "finance": make_token(db, make_user(db, "finance")),
        "caseworker": make_token(db, make_user(db, "caseworker")),
    }
    other_till = bearer(make_token(db, make_user(db, "merchant", merchant_id=other_merchant_id)))
    app = create_app(world_settings, db=db)
    app.config.update(TESTING=True)
    client = app.test_client()

    sanne, daan = rows["T-1"], rows["T-2"]
    with db.read() as s:
        pass_ids = {row.child_ref: resolve_pass(s, row.url, settings=world_settings, today=TODAY).id for row in (sanne, daan)}
    sanne_vouchers, daan_vouchers = vouchers[pass_ids["T-1"]], vouchers[pass_ids["T-2"]]
    seeds = [
        (bearer(tokens["merchant"]), sanne.url, sanne_vouchers[("budget", "sport_culture")]),
        (bearer(tokens["merchant"]), sanne.code, sanne_vouchers[("budget", "sport_culture")]),
        (bearer(tokens["merchant"]), daan.url, daan_vouchers[("cheque", "clothing")]),
        (other_till, sanne.url, sanne_vouchers[("budget", "school")]),  # not this merchant's to void
    ]
    redemption_ids = []
    for n, (headers, code, voucher_id) in enumerate(seeds):
        body = {"code": code, "voucher_id": voucher_id, "amount_cents": 250}
        answer = client.post("/api/v1/redemptions", json=body, headers={**headers, "Idempotency-Key": f"seed-{n}"})
        assert answer.status_code == 201, answer.get_json()
        redemption_ids.append(answer.get_json()["id"])
    # Daan's pass is lost: its QR and code must answer pass_blocked from now on.
    with db.transaction() as s:
        block_pass(s, daan.pass_id, reason="verloren")

    voucher_ids = sorted(v for by_kind in vouchers.values() for v in by_kind.values())
    dictionaries = {
        "municipalities": [MUNICIPALITY],
        "pass_codes": [sanne.url, sanne.code, daan.url, daan.code],
        "voucher_ids": voucher_ids,
        "redemption_ids": redemption_ids + [max(redemption_ids) + 1],
        "years": [2027],
        "ibans": list(TEST_IBANS),
    }
    return World(app=app, tokens=tokens, roles=_roles_by_operation(app), dictionaries=dictionaries)


#: Which generated parameters draw from which dictionary, and how often.
BINDINGS = {
    "path.code": ("municipalities", 0.8),
    "path.redemption_id": ("redemption_ids", 0.7),
    "query.year": ("years", 0.7),
    "body.code": ("pass_codes", 0.7),
    "body.voucher_id": ("voucher_ids", 0.7),
    "body.iban": ("ibans", 0.5),
}


#: Generated cases per operation and generation mode (positive, negative).
EXAMPLES = 60
#: Cases per operation and mode that also run ``ignored_auth``, which sends
#: the request again without credentials and with wrong ones. ``@requires``
#: answers before any input is read, so a few prove it and the rest would
#: only triple the run's requests.
AUTH_PROBES = 10

#: CONTRACT.md: the problem codes each status may carry. ``conflict`` is
#: the generic 409 (a duplicate merchant name), ``method_not_allowed`` a 405.
PROBLEM_CODES = {
    401: {"unauthenticated"},
    403: {"forbidden", "not_accepted_here"},
    404: {"not_found"},
    405: {"method_not_allowed"},
    409: {"pass_blocked", "pass_expired", "insufficient_balance", "void_window_closed", "request_in_progress", "conflict"},
    422: {"validation_error", "invalid_code", "idempotency_key_reused"},
    429: {"rate_limited"},
}
#: 422 codes that refuse a schema-valid request on what only the server
#: knows: a pass code that does not verify, a key reused with another body.
CONTRACT_REFUSALS = {"invalid_code", "idempotency_key_reused"}
#: Fields a schema-valid request may still fail validation on, because no
#: JSON schema can say it: an IBAN's check digits and bank (and the BIC they
#: imply); whether a merchant's name keeps a letter or digit after SEPA
#: transliteration (a table over all of Unicode, not a pattern: "中文书店"
#: does, "★★★" and many unassigned code points do not; the field's
#: description says so); whether a voucher is on the pass that was scanned,
#: and whether it is a punch card (taking strips) or not (taking an amount).
SERVER_ONLY_RULES = {
    ("POST", "/api/v1/municipalities/{code}/merchants"): {"iban", "bic", "name"},
    ("POST", "/api/v1/redemptions"): {"voucher_id", "amount_cents", "strips"},
}


def problem_codes_follow_the_contract(_ctx: Any, response: Any, case: Any) -> None:
    """Every error names its status and a code that CONTRACT.md gives that status."""
    if response.status_code < 400:
        return
    body = response.json()
    assert body["status"] == response.status_code, f"problem status {body['status']} on a {response.status_code}"
    allowed = PROBLEM_CODES.get(response.status_code, set())
    assert body["code"] in allowed, f"{response.status_code} with code {body['code']!r}; CONTRACT.md allows {sorted(allowed)}"


def schema_valid_requests_pass_validation(_ctx: Any, response: Any, case: Any) -> None:
    """A request the schema allows is never a ``validation_error``: the
    document states every rule the server checks, or the rule is a listed
    server-only one. (positive_data_acceptance, which this narrows, lets 422 through.)"""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 422:
        return
    body = response.json()
    if body["code"] in CONTRACT_REFUSALS:
        return
    fields = set(body.get("errors") or {})
    allowed = SERVER_ONLY_RULES.get((case.method.upper(), case.operation.path), set())
    assert fields and fields <= allowed, f"schema-valid request refused: {body}"


def _schema(world: World) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            # 422 for schema-valid data only as schema_valid_requests_pass_validation allows.
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}},
            "dictionaries": {name: {"values": values} for name, values in world.dictionaries.items()},
            "parameters": {key: {"dictionary": name, "probability": p} for key, (name, p) in BINDINGS.items()},
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.app, config=config)


def _run(world: World, operation: Any, mode: GenerationMode, failures: list[str]) -> None:
    key = (operation.method.upper(), operation.path)
    ran = 0

    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
        # Drawing a body takes tens of milliseconds, more on a busy CI
        # machine; how fast cases are made is not what this test is about.
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        nonlocal ran
        response = case.call_and_validate(
            headers=world.headers_for(operation.method, operation.path),
            additional_checks=[problem_codes_follow_the_contract, schema_valid_requests_pass_validation],
            excluded_checks=[] if ran < AUTH_PROBES else [schemathesis.checks.ignored_auth],
        )
        ran += 1
        world.cases[key] += 1
        world.statuses[(key, response.status_code)] += 1

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all failures are reported together
        failures.append(f"{operation.label} ({mode.value}): {exc}")


@pytest.mark.slow
@pytest.mark.money  # PostgreSQL refuses what SQLite stores (a NUL in text): both must answer 4xx
def test_every_response_is_documented_and_no_input_breaks_the_api(world: World, cli, capsys: pytest.CaptureFixture) -> None:
    schema = _schema(world)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(world, operation, mode, failures)

    total = sum(world.cases.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {len(world.cases)} operations")
        for key, n in sorted(world.cases.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            statuses = {status: count for (k, status), count in sorted(world.statuses.items()) if k == key}
            print(f"  {n:5d}  {key[0]:4} {key[1]:45}  {statuses}")
    assert not failures, "\n\n".join(failures)
    assert {(op.method.upper(), op.path) for op in operations} == set(world.roles), "the document and the app disagree"
    assert set(world.cases) == set(world.roles), f"operations never called: {sorted(set(world.roles) - set(world.cases))}"
    assert total >= MIN_CASES, f"only {total} generated cases ran; the run needs at least {MIN_CASES}"
    # The redemptions and voids it made left the books balanced.
    assert "ledger ok" in cli("ledger", "verify").stdout


def test_a_method_the_document_does_not_list_is_a_405_naming_the_ones_it_does(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        url = path.replace("{code}", MUNICIPALITY).replace("{redemption_id}", "1")
        response = client.delete(url)
        assert response.status_code == 405, url
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "method_not_allowed"
        documented = {method.upper() for method in operations if method != "parameters"}
        assert documented <= set(response.headers["Allow"].split(", ")), url


@pytest.mark.money
def test_control_characters_in_text_are_a_validation_error_on_every_database(client, db) -> None:
    admin = bearer(make_token(db, make_user(db, "admin")))
    merchant = {"name": "Zwembad De Vennen", "categories": ["sport_culture"], "iban": TEST_IBANS[1]}
    for field_name, value in [
        ("name", "Zwembad\x00De Vennen"),
        ("address", "Dorpsstraat 1\x00"),
        ("contact_email", "info\x00@vennen.nl"),
        ("iban", TEST_IBANS[1] + "\x00"),
        ("name", "\u3000\t "),  # blank in every script
    ]:
        response = client.post(
            f"/api/v1/municipalities/{MUNICIPALITY}/merchants", json={**merchant, field_name: value}, headers=admin
        )
        assert response.status_code == 422, (field_name, response.get_json())
        assert response.get_json()["code"] == "validation_error"
        assert set(response.get_json()["errors"]) == {field_name}
    assert client.post(f"/api/v1/municipalities/{MUNICIPALITY}/merchants", json=merchant, headers=admin).status_code == 202  # pending a second admin

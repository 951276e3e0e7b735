"""Four eyes means two people (docs/SECURITY.md, "Four eyes").

One admin alone cannot make an admin or finance account, give one a new
password, or make a merchant a payee: each is a request a second admin
confirms. And no account confirms or approves what was asked by the admin
who created it or last reset its password (its sponsor), by an account it
sponsored, or by an account with the same sponsor.
"""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from pasdienst.access.errors import Unauthenticated
from pasdienst.access.models import User
from pasdienst.access.accounts import actor_for_email, authenticate
from pasdienst.access.policy import same_hands
from pasdienst.foureyes import requests
from pasdienst.foureyes.errors import SecondAdminRequired
from pasdienst.foureyes.models import FourEyesRequest
from pasdienst.errors import Conflict
from pasdienst.merchants import iban as iban_changes
from pasdienst.merchants.models import IbanChangeRequest
from pasdienst.merchants.models import Merchant
from pasdienst.web import dutch
from tests.factories import (
    TEST_PASSWORD,
    api_headers,
    bearer,
    login_as,
    make_merchant,
    make_token,
    make_user,
    page_csrf_token,
)

from .conftest import audit_count, flashes, last_event, post

NEW_IBAN = "NL44RABO0123456789"


def _actor(db, user):
    with db.read() as s:
        return actor_for_email(s, user.email)


def _password_on(response) -> str:
    page = response.get_data(as_text=True)
    return page.split('<p class="secret"><code>', 1)[1].split("</code>", 1)[0]


def _requests(db, **where) -> list[FourEyesRequest]:
    with db.read() as s:
        query = select(FourEyesRequest).order_by(FourEyesRequest.id)
        for name, value in where.items():
            query = query.where(getattr(FourEyesRequest, name) == value)
        return list(s.execute(query).scalars())


def _user(db, email: str) -> User | None:
    with db.read() as s:
        return s.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _logs_in(app, email: str, password: str) -> bool:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": page_csrf_token(client)})
    return response.status_code == 302


def _confirm(client, request_id: int):
    return post(client, f"/admin/verzoeken/{request_id}/bevestigen", {"checked": "1"}, token_from="/admin/verzoeken")


# -- a new admin or finance account ------------------------------------------------

def test_one_admin_alone_cannot_make_an_admin_account(app, client, db):
    first = login_as(client, "admin")
    response = post(client, "/admin/gebruikers", {"email": "tweede@testdorp.example", "role": "admin"},
                    token_from="/admin/gebruikers")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "werkt pas als een andere beheerder" in response.get_data(as_text=True)
    password = _password_on(response)
    # No account yet: the one-time password does not log in.
    assert _user(db, "tweede@testdorp.example") is None
    assert not _logs_in(app, "tweede@testdorp.example", password)
    (request,) = _requests(db)
    assert request.kind == "user.create" and request.requested_by_user_id == first.id
    # The requester's own confirmation is refused and changes nothing.
    assert _confirm(client, request.id).status_code == 403
    assert _user(db, "tweede@testdorp.example") is None and _requests(db)[0].status == "pending"
    assert audit_count(db, "user.create_confirm") == 0


def test_a_second_admin_confirms_the_new_account_and_the_requester_becomes_its_sponsor(app, client, db):
    first = login_as(client, "admin")
    response = post(client, "/admin/gebruikers", {"email": "fin@testdorp.example", "role": "finance"},
                    token_from="/admin/gebruikers")
    password = _password_on(response)
    (request,) = _requests(db)
    second = app.test_client()
    confirmer = login_as(second, "admin")
    page = second.get("/admin/verzoeken").get_data(as_text=True)
    assert "Nieuw account: fin@testdorp.example (financiën)" in page and first.email in page
    done = _confirm(second, request.id)
    assert done.status_code == 302 and "bestaat nu" in flashes(second)[0]
    user = _user(db, "fin@testdorp.example")
    assert user.role == "finance" and user.must_change_password and user.sponsor_user_id == first.id
    assert _logs_in(app, "fin@testdorp.example", password)
    assert last_event(db, "user.create_request").actor_email == first.email
    confirmed = last_event(db, "user.create_confirm")
    assert confirmed.actor_email == confirmer.email and confirmed.entity_id == str(request.id)
    assert last_event(db, "user.create").after["sponsor_user_id"] == first.id
    assert "password" not in str(last_event(db, "user.create_request").after)


def test_the_admin_made_by_a_sponsor_cannot_confirm_the_sponsors_iban_change(app, client, db):
    """The reproduced attack: make a second admin, log in as it, confirm one's own IBAN change."""
    merchant_id = make_merchant(db, name="Boekhandel")
    first = login_as(client, "admin")
    password = _password_on(post(client, "/admin/gebruikers", {"email": "stroman@testdorp.example", "role": "admin"},
                                 token_from="/admin/gebruikers"))
    (request,) = _requests(db)
    honest = app.test_client()  # an honest colleague
    login_as(honest, "admin")
    _confirm(honest, request.id)
    post(client, f"/admin/aanbieders/{merchant_id}/iban", {"iban": NEW_IBAN}, token_from="/admin/aanbieders")
    with db.read() as s:
        change = s.execute(select(IbanChangeRequest)).scalar_one()

    # The first admin logs in as the straw man with the password they were shown.
    straw = app.test_client()
    token = page_csrf_token(straw)
    straw.post("/login", data={"email": "stroman@testdorp.example", "password": password, "csrf_token": token})
    new = "een heel ander wachtwoord"
    post(straw, "/account/wachtwoord", {"current_password": password, "new_password": new, "repeat_password": new},
         token_from="/account/wachtwoord")
    assert straw.get("/admin/verzoeken").status_code == 200
    assert "niet wie diens account" in straw.get("/admin/verzoeken").get_data(as_text=True)
    refused = post(straw, f"/admin/iban-wijzigingen/{change.id}/bevestigen", token_from="/admin/verzoeken")
    assert refused.status_code == 403
    with db.read() as s:
        assert s.get(Merchant, merchant_id).iban == "NL91ABNA0417164300"
    assert audit_count(db, "merchant.iban_change_confirm") == 0
    assert first.id == _user(db, "stroman@testdorp.example").sponsor_user_id


def test_a_case_worker_account_needs_no_second_admin(client, db):
    admin = login_as(client, "admin")
    response = post(client, "/admin/gebruikers", {"email": "consulent@testdorp.example", "role": "caseworker"},
                    token_from="/admin/gebruikers")
    assert "werkt pas" not in response.get_data(as_text=True)
    user = _user(db, "consulent@testdorp.example")
    assert user.role == "caseworker" and user.sponsor_user_id == admin.id and _requests(db) == []


def test_an_address_asked_for_is_reserved_until_decided(client, db):
    login_as(client, "admin")
    post(client, "/admin/gebruikers", {"email": "fin@testdorp.example", "role": "finance"}, token_from="/admin/gebruikers")
    post(client, "/admin/gebruikers", {"email": "fin@testdorp.example", "role": "admin"}, token_from="/admin/gebruikers")
    assert "Er is al een verzoek" in flashes(client)[0]
    assert len(_requests(db)) == 1


# -- a new password for an admin or finance account -------------------------------

def test_one_admin_alone_cannot_reset_a_finance_password(app, client, db):
    """The reproduced attack: reset a finance colleague's password, use it, approve a batch."""
    finance = make_user(db, "finance")
    login_as(client, "admin")
    response = post(client, f"/admin/gebruikers/{finance.id}/wachtwoord", token_from="/admin/gebruikers")
    assert response.status_code == 200 and "Tot dan blijft het oude wachtwoord werken" in response.get_data(as_text=True)
    password = _password_on(response)
    assert not _logs_in(app, finance.email, password)
    assert _logs_in(app, finance.email, TEST_PASSWORD)
    (request,) = _requests(db, kind="user.password_reset")
    assert _confirm(client, request.id).status_code == 403
    assert not _logs_in(app, finance.email, password)
    assert _user(db, finance.email).sponsor_user_id is None


def test_a_confirmed_reset_ends_the_old_password_and_its_sessions(app, client, db):
    finance = make_user(db, "finance")
    finance_session = app.test_client()
    login_as(finance_session, finance)
    assert finance_session.get("/finance").status_code == 200
    first = login_as(client, "admin")
    password = _password_on(post(client, f"/admin/gebruikers/{finance.id}/wachtwoord", token_from="/admin/gebruikers"))
    (request,) = _requests(db)
    second = app.test_client()
    login_as(second, "admin")
    _confirm(second, request.id)
    assert finance_session.get("/finance").status_code == 302
    assert _logs_in(app, finance.email, password) and not _logs_in(app, finance.email, TEST_PASSWORD)
    assert _user(db, finance.email).sponsor_user_id == first.id
    assert last_event(db, "user.password_reset").after["requested_by_user_id"] == first.id


def test_a_case_workers_password_is_reset_at_once_and_the_admin_becomes_its_sponsor(client, db):
    caseworker = make_user(db, "caseworker")
    admin = login_as(client, "admin")
    response = post(client, f"/admin/gebruikers/{caseworker.id}/wachtwoord", token_from="/admin/gebruikers")
    assert "werkt pas" not in response.get_data(as_text=True)
    assert _user(db, caseworker.email).sponsor_user_id == admin.id and _requests(db) == []


def test_an_admin_cannot_confirm_a_new_password_for_their_own_account(app, client, db):
    target = make_user(db, "admin")
    login_as(client, "admin")
    post(client, f"/admin/gebruikers/{target.id}/wachtwoord", token_from="/admin/gebruikers")
    (request,) = _requests(db)
    own = app.test_client()
    login_as(own, target)
    assert _confirm(own, request.id).status_code == 403
    assert _requests(db)[0].status == "pending"


# -- merchants ---------------------------------------------------------------------

def test_one_admin_alone_cannot_make_a_merchant_a_payee_on_the_page(client, db):
    login_as(client, "admin")
    post(client, "/admin/aanbieders", {"name": "Nep BV", "categories": ["school"], "iban": NEW_IBAN},
         token_from="/admin/aanbieders")
    with db.read() as s:
        merchant = s.execute(select(Merchant).where(Merchant.name == "Nep BV")).scalar_one()
    assert merchant.status == "pending"
    # No login for it either, until approved.
    post(client, f"/admin/aanbieders/{merchant.id}/inlog", {"email": "kassa@nep.example"}, token_from="/admin/aanbieders")
    assert "Keur de aanbieder eerst goed" in flashes(client)[0]
    (request,) = _requests(db, kind="merchant.approve")
    assert _confirm(client, request.id).status_code == 403
    # Asking again is no way round it.
    post(client, f"/admin/aanbieders/{merchant.id}/status", {"status": "approved"}, token_from="/admin/aanbieders")
    assert "al aangevraagd" in flashes(client)[0]
    with db.read() as s:
        assert s.get(Merchant, merchant.id).status == "pending"
        assert s.execute(select(func.count()).select_from(User).where(User.merchant_id == merchant.id)).scalar_one() == 0


def test_one_admin_alone_cannot_make_a_merchant_a_payee_through_the_api(app, client, db):
    admin = make_user(db, "admin")
    body = {"name": "Nep BV", "categories": ["school"], "iban": NEW_IBAN, "status": "approved"}
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=body, headers=bearer(make_token(db, admin)))
    assert response.status_code == 202
    answer = response.json
    assert answer["status"] == "pending" and answer["requested_by"] == admin.email
    assert answer["merchant"]["status"] == "pending"
    session = app.test_client()
    login_as(session, admin)
    assert _confirm(session, answer["id"]).status_code == 403
    with db.read() as s:
        assert s.get(Merchant, answer["merchant"]["id"]).status == "pending"


def test_a_merchant_another_admin_confirms_is_approved_and_both_are_in_the_audit_log(app, client, db):
    asker = login_as(client, "admin")
    post(client, "/admin/aanbieders", {"name": "Echte Winkel", "categories": ["school"], "iban": NEW_IBAN,
                                       "kvk_number": "12345678"}, token_from="/admin/aanbieders")
    (request,) = _requests(db)
    second = app.test_client()
    confirmer = login_as(second, "admin")
    page = second.get("/admin/verzoeken").get_data(as_text=True)
    assert "Aanbieder goedkeuren: Echte Winkel" in page and NEW_IBAN in page and "12345678" in page
    _confirm(second, request.id)
    with db.read() as s:
        assert s.get(Merchant, request.merchant_id).status == "approved"
    assert last_event(db, "merchant.approve_request").actor_email == asker.email
    assert last_event(db, "merchant.approve_confirm").actor_email == confirmer.email
    assert last_event(db, "merchant.status").after["status"] == "approved"


# -- the requests page -----------------------------------------------------------

def test_confirming_needs_the_checkbox_and_the_csrf_token(app, client, db):
    login_as(client, "admin")
    post(client, "/admin/aanbieders", {"name": "Winkel", "categories": ["school"], "iban": NEW_IBAN},
         token_from="/admin/aanbieders")
    (request,) = _requests(db)
    second = app.test_client()
    login_as(second, "admin")
    page = second.get("/admin/verzoeken").get_data(as_text=True)
    assert 'name="checked" type="checkbox" value="1" required' in page and 'name="csrf_token"' in page
    post(second, f"/admin/verzoeken/{request.id}/bevestigen", token_from="/admin/verzoeken")
    assert "Vink eerst aan" in flashes(second)[0]
    assert second.post(f"/admin/verzoeken/{request.id}/bevestigen", data={"checked": "1"}).status_code == 400
    assert _requests(db)[0].status == "pending"


def test_a_rejected_or_withdrawn_request_changes_nothing_and_its_password_never_works(app, client, db):
    login_as(client, "admin")
    password = _password_on(post(client, "/admin/gebruikers", {"email": "fin@testdorp.example", "role": "finance"},
                                 token_from="/admin/gebruikers"))
    post(client, "/admin/gebruikers", {"email": "fin2@testdorp.example", "role": "finance"}, token_from="/admin/gebruikers")
    rejected, withdrawn = _requests(db)
    second = app.test_client()
    login_as(second, "admin")
    post(second, f"/admin/verzoeken/{rejected.id}/afwijzen", token_from="/admin/verzoeken")
    assert "afgewezen" in flashes(second)[0]
    post(client, f"/admin/verzoeken/{withdrawn.id}/afwijzen", token_from="/admin/verzoeken")
    assert "ingetrokken" in flashes(client)[0]
    assert [(r.status, r.password_hash) for r in _requests(db)] == [("rejected", None), ("cancelled", None)]
    assert _user(db, "fin@testdorp.example") is None and not _logs_in(app, "fin@testdorp.example", password)
    assert _confirm(second, rejected.id).status_code == 302 and "al afgehandeld" in flashes(second)[0]
    assert audit_count(db, "user.create_reject") == 1 and audit_count(db, "user.create_cancel") == 1


def test_another_municipalitys_request_is_not_found(client, db):
    login_as(client, "admin")
    post(client, "/admin/aanbieders", {"name": "Winkel", "categories": ["school"], "iban": NEW_IBAN},
         token_from="/admin/aanbieders")
    (request,) = _requests(db)
    login_as(client, "admin", municipality="anderdorp")
    assert "Winkel" not in client.get("/admin/verzoeken").get_data(as_text=True)
    assert _confirm(client, request.id).status_code == 404
    assert post(client, f"/admin/verzoeken/{request.id}/afwijzen", token_from="/admin/verzoeken").status_code == 404


def test_the_dashboard_counts_the_waiting_requests(client, db):
    login_as(client, "admin")
    post(client, "/admin/aanbieders", {"name": "Winkel", "categories": ["school"], "iban": NEW_IBAN},
         token_from="/admin/aanbieders")
    page = client.get("/admin").get_data(as_text=True)
    assert re.search(r'<span class="figure">1</span> <span class="figure-label"><a href="/admin/verzoeken">verzoeken', page)


# -- the rule itself, on both databases ---------------------------------------------

@pytest.mark.money
def test_same_hands_follows_sponsors_both_ways_and_through_a_shared_sponsor(db):
    root_a, root_b = make_user(db, "admin"), make_user(db, "admin")
    ids: dict[str, int] = {}

    def admin(name: str, sponsor_id: int | None) -> None:
        ids[name] = make_user(db, "admin").id
        with db.transaction() as s:
            s.get(User, ids[name]).sponsor_user_id = sponsor_id

    admin("c", root_a.id)
    admin("d", root_a.id)
    admin("e", None)
    admin("f", root_b.id)
    admin("g", ids["c"])  # made by c, itself made by a: a chain
    with db.read() as s:
        assert same_hands(s, root_a.id, root_a.id)
        assert same_hands(s, ids["c"], root_a.id) and same_hands(s, root_a.id, ids["c"])  # sponsor, either way
        assert same_hands(s, ids["c"], ids["d"])  # one sponsor saw both passwords
        assert same_hands(s, ids["g"], root_a.id)  # up the chain
        assert same_hands(s, None, root_a.id)  # the command line is nobody's second pair of eyes
        assert not same_hands(s, root_a.id, root_b.id)
        assert not same_hands(s, ids["c"], ids["f"]) and not same_hands(s, ids["c"], ids["e"])


@pytest.mark.money
def test_confirmations_take_effect_once_on_both_databases(db):
    asker, confirmer = make_user(db, "admin"), make_user(db, "admin")
    finance = make_user(db, "finance")
    merchant_id = make_merchant(db, status="pending")
    with db.transaction() as s:
        ask = actor_for_email(s, asker.email)
        account, password = requests.request_account(s, ask, "nieuw@testdorp.example", "finance")
        reset, reset_password = requests.request_password_reset(s, ask, s.get(User, finance.id))
        approval = requests.request_merchant_approval(s, ask, s.get(Merchant, merchant_id))
    for request in (account, reset, approval):
        with db.transaction() as s, pytest.raises(SecondAdminRequired):
            requests.confirm_request(s, actor_for_email(s, asker.email), request.id)
        with db.transaction() as s:
            requests.confirm_request(s, actor_for_email(s, confirmer.email), request.id)
        with db.transaction() as s, pytest.raises(Conflict) as refused:
            requests.confirm_request(s, actor_for_email(s, confirmer.email), request.id)
        assert dutch.refusal(refused.value) == "Dit verzoek is al afgehandeld."
    with db.transaction() as s:
        assert authenticate(s, "nieuw@testdorp.example", password).sponsor_user_id == asker.id
        assert authenticate(s, finance.email, reset_password).sponsor_user_id == asker.id
        with pytest.raises(Unauthenticated):
            authenticate(s, finance.email, TEST_PASSWORD)
        assert s.get(Merchant, merchant_id).status == "approved"


@pytest.mark.money
def test_an_iban_change_is_not_confirmed_by_an_account_with_the_same_sponsor(db):
    merchant_id = make_merchant(db, name="Boekhandel")
    sponsor, colleague = make_user(db, "admin"), make_user(db, "admin")
    with db.transaction() as s:
        made = []
        for email in ("een@testdorp.example", "twee@testdorp.example"):
            request, _ = requests.request_account(s, actor_for_email(s, sponsor.email), email, "admin")
            made.append(request.id)
    for request_id in made:
        with db.transaction() as s:
            requests.confirm_request(s, actor_for_email(s, colleague.email), request_id)
    with db.transaction() as s:
        change = iban_changes.request_change(s, actor_for_email(s, "een@testdorp.example"), merchant_id, NEW_IBAN)
    with db.transaction() as s, pytest.raises(SecondAdminRequired):
        iban_changes.confirm_change(s, actor_for_email(s, "twee@testdorp.example"), change.id)
    with db.transaction() as s:
        iban_changes.confirm_change(s, actor_for_email(s, colleague.email), change.id)
        assert s.get(Merchant, merchant_id).iban == NEW_IBAN


def test_the_api_documents_the_202_with_the_request(client):
    spec = client.get("/api/v1/openapi.json").json
    responses = spec["paths"]["/api/v1/municipalities/{code}/merchants"]["post"]["responses"]
    assert "202" in responses and "second admin" in responses["202"]["description"]


def test_the_command_line_still_bootstraps_admin_and_finance_users(cli, db):
    make_user(db, "admin")  # the municipality
    for role in ("admin", "finance"):
        result = cli("user", "add", f"{role}-boot@testdorp.example", "--role", role, "--municipality", "testdorp")
        password = result.output.strip().splitlines()[-1]
        with db.transaction() as s:
            assert authenticate(s, f"{role}-boot@testdorp.example", password).sponsor_user_id is None


def test_api_headers_session_post_also_answers_202(client, db):
    login_as(client, "admin")
    body = {"name": "Winkel", "categories": ["school"], "iban": NEW_IBAN}
    response = client.post("/api/v1/municipalities/testdorp/merchants", json=body, headers=api_headers(client))
    assert response.status_code == 202 and response.json["kind"] == "merchant.approve"


@pytest.mark.money
def test_two_admins_confirming_at_once_make_one_account(db):
    asker = make_user(db, "admin")
    confirmers = [make_user(db, "admin"), make_user(db, "admin")]
    with db.transaction() as s:
        request, _ = requests.request_account(s, actor_for_email(s, asker.email), "nieuw@testdorp.example", "finance")
    actors = [_actor(db, user) for user in confirmers]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm(actor) -> None:
        start.wait()
        try:
            with db.transaction() as s:
                requests.confirm_request(s, actor, request.id)
            outcomes.append("confirmed")
        except Conflict as exc:
            outcomes.append(dutch.refusal(exc))

    threads = [threading.Thread(target=confirm, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["Dit verzoek is al afgehandeld.", "confirmed"]
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(User).where(User.email == "nieuw@testdorp.example")).scalar_one() == 1
    assert audit_count(db, "user.create_confirm") == 1

"""The users page: who can log in, adding staff with a one-time password, blocking and unblocking."""
from __future__ import annotations

from sqlalchemy import select

from pasdienst.access.models import User
from tests.factories import OTHER_MUNICIPALITY, login_as, make_user, user_count

from .conftest import flashes, last_event, post


def test_the_users_page_lists_the_municipalitys_logins_only(client, db):
    mine = make_user(db, "finance")
    theirs = make_user(db, "finance", municipality=OTHER_MUNICIPALITY)
    login_as(client, "admin")
    page = client.get("/admin/gebruikers").get_data(as_text=True)
    assert mine.email in page and "Financiën" in page and theirs.email not in page


def test_a_new_staff_member_gets_a_one_time_password_shown_once(client, db):
    login_as(client, "admin")
    response = post(client, "/admin/gebruikers", {"email": "Consulent@Testdorp.example", "role": "caseworker"},
                    token_from="/admin/gebruikers")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    password = page.split('<p class="secret"><code>', 1)[1].split("</code>", 1)[0]
    assert len(password) == 16
    with db.read() as s:
        user = s.execute(select(User).where(User.email == "consulent@testdorp.example")).scalar_one()
    assert user.role == "caseworker" and user.must_change_password
    assert password not in client.get("/admin/gebruikers").get_data(as_text=True)
    assert last_event(db, "user.create").after["role"] == "caseworker"


def test_a_bad_new_user_is_refused_and_nothing_is_written(client, db):
    login_as(client, "admin")
    before = user_count(db)
    for data, message in (
        ({"email": "geen-adres", "role": "admin"}, "geen e-mailadres"),
        ({"email": "x@testdorp.example", "role": "merchant"}, "Kies een rol"),
        ({"email": "x@testdorp.example", "role": "root"}, "Kies een rol"),
    ):
        response = post(client, "/admin/gebruikers", data, token_from="/admin/gebruikers")
        assert response.status_code == 302 and message in flashes(client)[0]
    existing = make_user(db, "finance")
    post(client, "/admin/gebruikers", {"email": existing.email, "role": "admin"}, token_from="/admin/gebruikers")
    assert "al een account" in flashes(client)[0]
    assert user_count(db) == before + 1


def test_blocking_ends_the_users_sessions_and_unblocking_lets_them_log_in_again(app, client, db):
    finance = make_user(db, "admin")
    session_of_finance = app.test_client()
    login_as(session_of_finance, finance)
    assert session_of_finance.get("/admin").status_code == 200
    login_as(client, "admin")
    post(client, f"/admin/gebruikers/{finance.id}/toegang", {"active": "0"}, token_from="/admin/gebruikers")
    assert session_of_finance.get("/admin").status_code == 302
    event = last_event(db, "user.deactivate")
    assert event.before["active"] is True and event.after["active"] is False
    post(client, f"/admin/gebruikers/{finance.id}/toegang", {"active": "1"}, token_from="/admin/gebruikers")
    # The old session stays ended (it may be on the stolen phone); a new login works.
    assert session_of_finance.get("/admin").status_code == 302
    login_as(session_of_finance, finance)
    assert session_of_finance.get("/admin").status_code == 200


def test_an_admin_cannot_block_themselves(client, db):
    me = login_as(client, "admin")
    post(client, f"/admin/gebruikers/{me.id}/toegang", {"active": "0"}, token_from="/admin/gebruikers")
    assert "eigen account" in flashes(client)[0]
    assert client.get("/admin").status_code == 200


def test_a_new_one_time_password_replaces_the_old_one(client, db):
    other = make_user(db, "caseworker")
    login_as(client, "admin")
    response = post(client, f"/admin/gebruikers/{other.id}/wachtwoord", token_from="/admin/gebruikers")
    assert response.status_code == 200 and "Eenmalig wachtwoord" in response.get_data(as_text=True)
    with db.read() as s:
        assert s.get(User, other.id).must_change_password
    assert last_event(db, "user.password_reset").entity_id == str(other.id)


def test_another_municipalitys_user_is_not_found(client, db):
    theirs = make_user(db, "finance", municipality=OTHER_MUNICIPALITY)
    login_as(client, "admin")
    assert post(client, f"/admin/gebruikers/{theirs.id}/toegang", {"active": "0"}, token_from="/admin/gebruikers").status_code == 404
    assert post(client, f"/admin/gebruikers/{theirs.id}/wachtwoord", token_from="/admin/gebruikers").status_code == 404
    with db.read() as s:
        assert s.get(User, theirs.id).active

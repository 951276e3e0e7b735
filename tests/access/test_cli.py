"""``pasdienst user …`` and ``pasdienst token …``: the secret is the last line; bad input writes nothing."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from pasdienst.access.models import ApiToken, User
from pasdienst.access.accounts import authenticate

from tests.factories import make_merchant, make_municipality, make_user, user_count


def _last_line(result) -> str:
    return result.output.strip().splitlines()[-1]


def test_user_add_prints_a_one_time_password_that_logs_in_once(cli, db):
    make_municipality(db)
    result = cli("user", "add", "Finance@Testdorp.Example", "--role", "finance", "--municipality", "testdorp")
    password = _last_line(result)
    with db.transaction() as s:
        user = authenticate(s, "finance@testdorp.example", password)
        assert user.role == "finance" and user.must_change_password


def test_a_merchant_user_belongs_to_its_merchants_municipality(cli, db):
    merchant_id = make_merchant(db, "anderdorp")
    cli("user", "add", "kassa@winkel.example", "--role", "merchant", "--merchant", str(merchant_id))
    with db.read() as s:
        user = s.execute(select(User).where(User.email == "kassa@winkel.example")).scalar_one()
        assert user.merchant_id == merchant_id
        from pasdienst.municipalities.models import Municipality

        assert s.get(Municipality, user.municipality_id).code == "anderdorp"


@pytest.mark.parametrize("args, reason", [
    (["--role", "merchant"], "needs --merchant"),
    (["--role", "merchant", "--merchant", "999"], "no merchant 999"),
    (["--role", "merchant", "--merchant", "{merchant}", "--municipality", "anderdorp"], "belongs to testdorp"),
    (["--role", "finance"], "needs --municipality"),
    (["--role", "admin", "--municipality", "nergensdorp"], "no municipality"),
    (["--role", "caseworker", "--municipality", "testdorp", "--merchant", "{merchant}"], "only merchant users"),
    (["--role", "boss", "--municipality", "testdorp"], "role must be one of"),
])
def test_user_add_refuses_bad_combinations_and_writes_nothing(cli, db, args, reason):
    merchant_id = make_merchant(db)
    make_municipality(db, "anderdorp")
    before = user_count(db)
    args = [a.replace("{merchant}", str(merchant_id)) for a in args]
    result = cli("user", "add", "nieuw@testdorp.example", *args, ok=False)
    assert result.exit_code == 1
    assert reason in result.output and len(result.output.strip().splitlines()) == 1
    assert user_count(db) == before


@pytest.mark.parametrize("email, reason", [
    ("not-an-address", "is not an e-mail address"),
    ("taken@testdorp.example", "already exists"),
])
def test_user_add_refuses_bad_or_duplicate_addresses(cli, db, email, reason):
    make_user(db, "admin", email="taken@testdorp.example")
    before = user_count(db)
    result = cli("user", "add", email, "--role", "admin", "--municipality", "testdorp", ok=False)
    assert result.exit_code == 1 and reason in result.output
    assert user_count(db) == before


def test_token_create_prints_the_token_last_and_keeps_only_its_hash(cli, db):
    make_user(db, "finance", email="boekhouding@testdorp.example")
    token = _last_line(cli("token", "create", "boekhouding@testdorp.example", "--name", "boekhouding"))
    assert token.startswith("pd_") and len(token) == 46
    with db.read() as s:
        assert s.execute(select(ApiToken.token_hash)).scalar_one() == hashlib.sha256(token.encode()).hexdigest()


def test_token_create_for_an_unknown_user_is_refused(cli, db):
    result = cli("token", "create", "nobody@testdorp.example", ok=False)
    assert result.exit_code == 1 and "no user" in result.output
    with db.read() as s:
        assert s.execute(select(ApiToken.id)).first() is None


def test_a_blocked_user_gets_no_new_token(cli, db):
    make_user(db, "finance", email="weg@testdorp.example")
    cli("user", "block", "weg@testdorp.example")
    result = cli("token", "create", "weg@testdorp.example", ok=False)
    assert result.exit_code == 1 and "blocked" in result.output


def test_a_revoked_token_is_refused_by_the_api(cli, db, client):
    make_user(db, "finance", email="boekhouding@testdorp.example")
    token = _last_line(cli("token", "create", "boekhouding@testdorp.example"))
    with db.read() as s:
        token_id = s.execute(select(ApiToken.id)).scalar_one()
    cli("token", "revoke", str(token_id))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_reset_password_gives_a_new_one_time_password(cli, db):
    make_user(db, "admin", email="vergeten@testdorp.example")
    password = _last_line(cli("user", "reset-password", "vergeten@testdorp.example"))
    with db.transaction() as s:
        assert authenticate(s, "vergeten@testdorp.example", password).must_change_password

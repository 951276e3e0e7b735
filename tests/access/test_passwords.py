"""Passwords: argon2id hashes, authentication without telling who exists, changing them."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from pasdienst.access import passwords
from pasdienst.access.errors import Unauthenticated, WeakPassword
from pasdienst.access.models import User
from pasdienst.access.accounts import authenticate, change_password, create_user, set_user_active

from tests.factories import TEST_PASSWORD, make_municipality, make_user


def _stored(db, email):
    with db.read() as s:
        user = s.execute(select(User).where(User.email == email)).scalar_one()
        s.expunge(user)
        return user


def test_a_one_time_password_is_stored_only_as_an_argon2id_hash(db):
    make_municipality(db)
    with db.transaction() as s:
        user, password = create_user(s, "  Anna@Testdorp.Example ", role="admin", municipality_code="testdorp")
    stored = _stored(db, "anna@testdorp.example")
    assert stored.password_hash.startswith("$argon2id$")
    assert password not in stored.password_hash
    assert len(password) >= 12 and stored.must_change_password


def test_passwords_are_hashed_with_argon2id_at_rfc_9106s_second_recommendation(db, production_password_hashes):
    make_municipality(db)
    with db.transaction() as s:
        create_user(s, "anna@testdorp.example", role="admin", municipality_code="testdorp")
    parameters = extract_parameters(_stored(db, "anna@testdorp.example").password_hash)
    assert parameters == passwords.PARAMETERS
    # 64 MiB, 3 passes, 4 lanes: about 0.2 s of a core for every hash and every login.
    assert (parameters.type, parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (Type.ID, 65536, 3, 4)


def test_a_login_upgrades_a_hash_made_with_weaker_parameters(db, production_password_hashes):
    weak = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(TEST_PASSWORD)
    make_municipality(db)
    with db.transaction() as s:
        create_user(s, "anna@testdorp.example", role="admin", municipality_code="testdorp",
                    password=TEST_PASSWORD, password_hash=weak, must_change_password=False)
    with db.transaction() as s:
        authenticate(s, "anna@testdorp.example", TEST_PASSWORD)
    assert extract_parameters(_stored(db, "anna@testdorp.example").password_hash) == passwords.PARAMETERS


def test_the_right_password_logs_in_and_is_recorded(db):
    made = make_user(db, "finance")
    with db.transaction() as s:
        user = authenticate(s, made.email.upper(), TEST_PASSWORD)
        assert user.id == made.id
    assert _stored(db, made.email).last_login_at is not None


@pytest.mark.parametrize("email, password", [
    ("finance1@testdorp.example", "wrong password here"),
    ("nobody@testdorp.example", TEST_PASSWORD),
    ("", ""),
])
def test_a_wrong_password_or_unknown_address_gets_the_same_refusal(db, email, password):
    make_user(db, "finance", email="finance1@testdorp.example")
    with pytest.raises(Unauthenticated) as refused, db.transaction() as s:
        authenticate(s, email, password)
    assert refused.value.code == "unauthenticated" and refused.value.status == 401
    assert str(refused.value) == "unknown e-mail address or wrong password"
    assert _stored(db, "finance1@testdorp.example").last_login_at is None


def test_a_blocked_user_cannot_log_in(db):
    made = make_user(db, "caseworker")
    with db.transaction() as s:
        set_user_active(s, made.email, False)
    with pytest.raises(Unauthenticated), db.transaction() as s:
        authenticate(s, made.email, TEST_PASSWORD)


def test_changing_the_password_needs_the_current_one_and_nothing_changes_otherwise(db):
    made = make_user(db, "admin", must_change_password=True)
    before = _stored(db, made.email).password_hash
    with pytest.raises(Unauthenticated), db.transaction() as s:
        change_password(s, made.id, "not the password", "a brand new passphrase")
    assert _stored(db, made.email).password_hash == before


@pytest.mark.parametrize("new, reason", [
    ("short", "too_short"),
    ("admin9@testdorp.example", "is_email"),
    (TEST_PASSWORD, "unchanged"),
])
def test_a_weak_new_password_is_refused(db, new, reason):
    made = make_user(db, "admin", email="admin9@testdorp.example", must_change_password=True)
    with pytest.raises(WeakPassword) as refused, db.transaction() as s:
        change_password(s, made.id, TEST_PASSWORD, new)
    assert refused.value.details["reason"] == reason
    stored = _stored(db, made.email)
    assert stored.must_change_password


def test_a_new_password_clears_the_one_time_flag(db):
    made = make_user(db, "admin", must_change_password=True)
    with db.transaction() as s:
        change_password(s, made.id, TEST_PASSWORD, "a brand new passphrase")
    stored = _stored(db, made.email)
    assert not stored.must_change_password and stored.password_hash.startswith("$argon2id$")
    with db.transaction() as s:
        assert authenticate(s, made.email, "a brand new passphrase").id == made.id

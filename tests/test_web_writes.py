"""A page's write runs again when the database chose it as a deadlock's victim; a refusal is the answer.

``pasdienst.web.writes.write`` repeats the whole unit of work after a
deadlock (SQLSTATE 40P01) or a serialization failure (40001), and never
after anything else; ``change``, the back office's form post, says a
refusal in Dutch and redirects, and leaves "not found" an error of its own.
"""
from __future__ import annotations

import psycopg.errors
import pytest
from flask import get_flashed_messages
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from pasdienst.errors import Conflict, NotFound
from pasdienst.municipalities.models import Municipality
from pasdienst.municipalities.services import add_municipality
from pasdienst.web.dutch import notice
from pasdienst.web.writes import change, write


def _chosen_as_victim(error: type[psycopg.errors.DatabaseError]) -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL ends the transaction with ``error``."""
    return OperationalError("UPDATE ledger_account ...", {}, error("chosen as the victim"))


def _municipalities(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Municipality)).scalar_one()


@pytest.mark.money
@pytest.mark.parametrize("error", [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure])
def test_a_write_the_database_chose_as_a_victim_runs_again_and_commits_once(app, db, error):
    assert error.sqlstate in ("40P01", "40001")
    before = _municipalities(db)
    runs = []

    def work(session):
        runs.append(1)
        municipality = add_municipality(session, "herkansing", name="Herkansing")
        session.flush()
        if len(runs) == 1:
            raise _chosen_as_victim(error)  # after it wrote: the first attempt's rows must be gone
        return municipality.code

    with app.test_request_context("/admin/contact", method="POST"):
        assert write(work) == "herkansing"
    assert len(runs) == 2
    assert _municipalities(db) == before + 1


def test_an_error_that_is_not_a_deadlock_is_not_repeated(app, db):
    runs = []

    def work(session):
        runs.append(1)
        add_municipality(session, "eenmaal", name="Eenmaal")
        raise OperationalError("SELECT 1", {}, psycopg.errors.QueryCanceled("canceling statement due to statement timeout"))

    with app.test_request_context("/admin/contact", method="POST"), pytest.raises(OperationalError):
        write(work)
    assert len(runs) == 1


def test_a_refusal_is_not_repeated_but_said_in_dutch_on_the_page_it_came_from(app, db):
    runs = []

    def work(session):
        runs.append(1)
        add_municipality(session, "dubbel", name="Dubbel")
        raise Conflict("municipality 'dubbel' already exists")

    with app.test_request_context("/admin/contact", method="POST"):
        response = change(work, success=notice("contact_saved"), target="/admin/contact")
        messages = get_flashed_messages(with_categories=True)
    assert len(runs) == 1
    assert response.status_code == 302 and response.location == "/admin/contact"
    assert messages and messages[0][0] == "error" and "already exists" not in messages[0][1]
    assert _municipalities(db) == 0


def test_the_form_post_says_what_it_did_and_goes_where_the_result_says(app, db):
    with app.test_request_context("/admin/contact", method="POST"):
        response = change(
            lambda session: add_municipality(session, "nieuwdorp", name="Nieuwdorp"),
            success=lambda m: notice("fund_created", name=m.name), target=lambda m: f"/gemeenten/{m.code}", back="/gemeenten",
            code=303,
        )
        messages = get_flashed_messages(with_categories=True)
    assert response.status_code == 303 and response.location == "/gemeenten/nieuwdorp"
    assert messages == [("success", "Fonds Nieuwdorp is toegevoegd.")]  # the catalogue's sentence, filled in


def test_not_found_stays_an_error_of_its_own(app, db):
    def work(session):
        raise NotFound("no such municipality")

    with app.test_request_context("/admin/contact", method="POST"), pytest.raises(NotFound):
        change(work, success=notice("contact_saved"), target="/admin/contact")


def test_a_refusal_the_page_must_say_is_said_even_when_its_status_is_not_allowed(app, db):
    class Mine(NotFound):
        pass

    def work(session):
        raise Mine("not yours to approve")

    with app.test_request_context("/admin/contact", method="POST"):
        response = change(work, success=notice("contact_saved"), target="/admin/contact", said=(Mine,))
        messages = get_flashed_messages(with_categories=True)
    assert response.status_code == 302 and messages[0][0] == "error"


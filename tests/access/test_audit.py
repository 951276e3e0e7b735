"""The audit log: written with the change, free of secrets, append-only in the database."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from pasdienst.access.models import AuditEvent
from pasdienst.access.audit import record_audit, scrub
from pasdienst.merchants.records import add_merchant
from pasdienst.merchants.models import Merchant

from tests.factories import login_as, make_merchant, make_municipality, make_user


def _events(db, action=None):
    with db.read() as s:
        query = select(AuditEvent.action, AuditEvent.actor_email, AuditEvent.after).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return s.execute(query).all()


@pytest.mark.money  # the triggers are proven on SQLite and PostgreSQL
def test_the_audit_log_is_append_only_in_the_database(db):
    make_merchant(db)
    assert _events(db, "merchant.create")
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text("UPDATE audit_event SET action = 'nothing.happened'"))
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text("DELETE FROM audit_event"))
    assert _events(db, "merchant.create")


def test_secrets_and_personal_data_never_reach_a_snapshot():
    snapshot = {
        "name": "Anna", "bsn": "123456782", "password_hash": "$argon2id$...", "api_token": "pd_x",
        "income_pct": 115, "birth_date": "2015-01-01",
        "child": {"first_name": "Anna", "BSN_hash": "ab", "items": [{"token": "t", "amount_cents": 5}]},
    }
    assert scrub(snapshot) == {"name": "Anna", "child": {"first_name": "Anna", "items": [{"amount_cents": 5}]}}


def test_an_audit_event_names_the_actor_and_keeps_the_after_state(db):
    make_merchant(db, name="Fietsenmaker Van Dam", categories=("transport",))
    (action, actor, after), = _events(db, "merchant.create")
    assert actor == "cli"
    assert after["name"] == "Fietsenmaker Van Dam" and after["categories"] == "transport"


def test_an_audit_event_is_rolled_back_with_its_change(db):
    make_municipality(db)
    before = len(_events(db))
    with pytest.raises(RuntimeError), db.transaction() as s:
        add_merchant(s, "testdorp", name="Halve Zaak", categories="school", iban="NL91ABNA0417164300")
        raise RuntimeError("something later in the same request fails")
    assert len(_events(db)) == before
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Merchant)).scalar() == 0


def test_record_audit_takes_the_municipality_of_the_actor(db):
    from pasdienst.access.logins import load_actor

    user = make_user(db, "finance")
    with db.transaction() as s:
        actor = load_actor(s, user.id)
        event = record_audit(s, actor, "settlement.approved", "settlement_batch", 7, after={"amount_cents": 1250})
        assert event.actor_user_id == user.id and event.municipality_id == actor.municipality_id
        assert event.entity_id == "7"


def test_admins_read_their_municipalitys_audit_log_newest_first(client, db):
    make_merchant(db, name="Boekhandel Het Leesteken")
    make_merchant(db, "anderdorp", name="Elders")
    login_as(client, "admin")
    events = client.get("/api/v1/municipalities/testdorp/audit-events?limit=5").json
    assert events[0]["action"] == "user.create"  # the admin itself, made last
    assert [e["after"]["name"] for e in events if e["action"] == "merchant.create"] == ["Boekhandel Het Leesteken"]
    assert client.get("/api/v1/municipalities/testdorp/audit-events?limit=0").status_code == 422


def test_the_audit_log_page_is_dutch_and_for_admins(client, db):
    make_merchant(db, name="Boekhandel Het Leesteken")
    login_as(client, "admin")
    page = client.get("/admin/auditlog").get_data(as_text=True)
    assert "Auditlog" in page and "Aanbieder toegevoegd" in page and "merchant.create" not in page
    login_as(client, "finance")
    refused = client.get("/admin/auditlog")
    assert refused.status_code == 403 and "geen toegang" in refused.get_data(as_text=True)

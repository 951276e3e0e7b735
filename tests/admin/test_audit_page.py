"""The audit log page: every staff action with before and after, filterable, never editable, never a BSN."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from pasdienst.access.models import AuditEvent
from tests.access.helpers import OTHER_MUNICIPALITY, api_headers, login_as, make_merchant

from .conftest import form_token, pass_id_of, post


def test_the_log_filters_on_action_group_actor_and_entity(app, client, db, world):
    merchant_id = make_merchant(db, name="Boekhandel")
    admin = login_as(client, "admin")
    post(client, f"/admin/passen/{pass_id_of(world.rows['T-1'].pass_id)}/blokkeren", {"reason": "kwijt"})
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "suspended"}, token_from="/admin/aanbieders")

    passes = client.get("/admin/auditlog?action=pass.").get_data(as_text=True)
    assert "pass.block" in passes and "merchant.status" not in passes and "merchant.create" not in passes
    merchants = client.get("/admin/auditlog?action=merchant.status").get_data(as_text=True)
    assert "merchant.status" in merchants and "merchant.create" not in merchants
    assert '<option value="merchant." ' not in merchants
    mine = client.get(f"/admin/auditlog?actor={admin.email.split('@')[0]}").get_data(as_text=True)
    assert "pass.block" in mine and "merchant.status" in mine and "merchant.create" not in mine
    one = client.get(f"/admin/auditlog?entity_type=merchant&entity_id={merchant_id}").get_data(as_text=True)
    assert "merchant.status" in one and "merchant.create" in one and "pass.block" not in one
    future = client.get("/admin/auditlog?from=2099-01-01").get_data(as_text=True)
    assert "dat bij dit filter past" in future
    today = client.get("/admin/auditlog?from=2000-01-01&to=2100-12-31").get_data(as_text=True)
    assert "pass.block" in today


def test_a_pass_is_named_in_the_log_by_its_pass_number(client, db, world):
    number = world.rows["T-1"].pass_id
    login_as(client, "admin")
    post(client, f"/admin/passen/{pass_id_of(number)}/blokkeren", {"reason": "kwijt"})
    page = client.get(f"/admin/auditlog?entity_type=pass&entity_id={number}").get_data(as_text=True)
    assert "pass.block" in page and f"pas {number}" in page
    assert f"pas {pass_id_of(number)}<" not in page
    events = client.get("/api/v1/municipalities/testdorp/audit-events", headers=api_headers(client)).get_json()
    assert [e["entity_id"] for e in events if e["action"] == "pass.block"] == [number]


def test_each_event_shows_before_and_after(client, db):
    merchant_id = make_merchant(db, name="Boekhandel")
    login_as(client, "admin")
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "suspended"}, token_from="/admin/aanbieders")
    page = client.get("/admin/auditlog?action=merchant.status").get_data(as_text=True)
    change = page.split("<details>", 1)[1].split("</details>", 1)[0]
    assert "Voor" in change and "Na" in change and "approved" in change and "suspended" in change


def test_the_log_is_for_the_admins_own_municipality(client, db):
    make_merchant(db, name="Hier")
    make_merchant(db, OTHER_MUNICIPALITY, name="Elders")
    login_as(client, "admin")
    page = client.get("/admin/auditlog").get_data(as_text=True)
    assert "Hier" in page and "Elders" not in page
    assert client.get("/admin/auditlog?action=merchant.").get_data(as_text=True).count("merchant.create") == 1


def test_the_application_offers_no_way_to_change_the_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"} == set(), rule.rule


@pytest.mark.money
def test_events_written_by_the_pages_cannot_be_changed_in_the_database(client, db):
    login_as(client, "admin")
    post(client, "/admin/budget/grens", {"threshold": "10,00"}, token_from="/admin/budget")
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text("UPDATE audit_event SET after = NULL WHERE action = 'municipality.budget_threshold'"))
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text("DELETE FROM audit_event WHERE action = 'municipality.budget_threshold'"))


@pytest.mark.money
def test_no_bsn_or_pass_secret_reaches_the_log_after_a_working_day(app, client, db, world):
    """Import with BSNs, block, reissue, award: not one BSN, token or typed code in any event."""
    login_as(client, "admin")
    csv = b"child_ref;first_name;birth_date;income_pct;bsn\nB-1;Ilse;2016-02-02;100;110017675\n"
    client.post("/admin/import", data={"csrf_token": form_token(client, "/admin/import"),
                                       "file": (io.BytesIO(csv), "k.csv")}, content_type="multipart/form-data")
    pass_id = pass_id_of(world.rows["T-1"].pass_id)
    post(client, f"/admin/passen/{pass_id}/blokkeren", {"reason": "kwijt"})
    post(client, f"/admin/passen/{pass_id}/vervangen", {"reason": "lost", "confirm": "1"})
    post(client, "/admin/consulenten/limiet", {"max_passes": "3"}, token_from="/admin/consulenten")
    caseworker = app.test_client()
    login_as(caseworker, "caseworker")
    post(caseworker, "/admin/kinderen/aanmelden", {
        "child_ref": "GT-1", "first_name": "Mila", "birth_date": "2016-06-01", "override_reason": "huisbezoek",
    }, token_from="/admin/kinderen/aanmelden")
    with db.read() as s:
        events = s.execute(select(AuditEvent)).scalars().all()
    assert {"children.import", "pass.block", "pass.reissue", "child.register", "pass.issue"} <= {e.action for e in events}
    dumped = json.dumps([[e.before, e.after] for e in events])
    for secret in ("110017675", "111222333", world.rows["T-1"].code, world.rows["T-1"].url.rsplit("/", 1)[1],
                   world.rows["T-2"].code, "2016-06-01", "2015-05-01"):
        assert secret not in dumped, secret

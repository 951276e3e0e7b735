"""The audit log page: every staff action with before and after, filterable, never editable, never a BSN."""
from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

import pasdienst
from pasdienst.access.models import AUDIT_ACTIONS, AuditEvent
from pasdienst.foureyes.models import REQUEST_KINDS
from pasdienst.labels import AUDIT_ACTION_TITLES
from pasdienst.settlement.models import BATCH_STATUSES
from pasdienst.wallet.models import Child, ChildPass
from tests.factories import OTHER_MUNICIPALITY, api_headers, login_as, make_merchant

from .conftest import form_token, pass_id_of, post


BLOCKED = "<td>Pas geblokkeerd</td>"
SUSPENDED = "<td>Status aanbieder gewijzigd</td>"
ADDED = "<td>Aanbieder toegevoegd</td>"


def test_the_log_filters_on_action_group_actor_and_entity(app, client, db, world):
    merchant_id = make_merchant(db, name="Boekhandel")
    admin = login_as(client, "admin")
    post(client, f"/admin/passen/{pass_id_of(world.rows['T-1'].pass_id)}/blokkeren", {"reason": "kwijt"})
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "suspended"}, token_from="/admin/aanbieders")

    passes = client.get("/admin/auditlog?action=pass.").get_data(as_text=True)
    assert BLOCKED in passes and SUSPENDED not in passes and ADDED not in passes
    merchants = client.get("/admin/auditlog?action=merchant.status").get_data(as_text=True)
    assert SUSPENDED in merchants and ADDED not in merchants
    assert '<option value="merchant." ' not in merchants
    assert '<option value="merchant.status" selected>Status aanbieder gewijzigd</option>' in merchants
    mine = client.get(f"/admin/auditlog?actor={admin.email.split('@')[0]}").get_data(as_text=True)
    assert BLOCKED in mine and SUSPENDED in mine and ADDED not in mine
    one = client.get(f"/admin/auditlog?entity_type=merchant&entity_id={merchant_id}").get_data(as_text=True)
    assert SUSPENDED in one and ADDED in one and BLOCKED not in one
    future = client.get("/admin/auditlog?from=2099-01-01").get_data(as_text=True)
    assert "dat bij dit filter past" in future
    today = client.get("/admin/auditlog?from=2000-01-01&to=2100-12-31").get_data(as_text=True)
    assert BLOCKED in today


def test_a_pass_is_named_in_the_log_by_its_pass_number_and_links_to_the_child(client, db, world):
    number = world.rows["T-1"].pass_id
    login_as(client, "admin")
    post(client, f"/admin/passen/{pass_id_of(number)}/blokkeren", {"reason": "kwijt"})
    page = client.get(f"/admin/auditlog?entity_type=pass&entity_id={number}").get_data(as_text=True)
    with db.read() as s:
        child_id = s.get(ChildPass, pass_id_of(number)).child_id
    assert BLOCKED in page and f'pas <a href="/admin/kinderen/{child_id}">{number} (Sanne)</a>' in page
    assert f"pas {pass_id_of(number)}<" not in page
    events = client.get("/api/v1/municipalities/testdorp/audit-events", headers=api_headers(client)).get_json()
    assert [e["entity_id"] for e in events if e["action"] == "pass.block"] == [number]


def test_each_event_shows_before_and_after(client, db):
    merchant_id = make_merchant(db, name="Boekhandel")
    login_as(client, "admin")
    post(client, f"/admin/aanbieders/{merchant_id}/status", {"status": "suspended"}, token_from="/admin/aanbieders")
    page = client.get("/admin/auditlog?action=merchant.status").get_data(as_text=True)
    change = page.split("<details>", 1)[1].split("</details>", 1)[0]
    assert "Voor" in change and "Na" in change
    assert "<dt>status</dt><dd>goedgekeurd</dd>" in change and "<dt>status</dt><dd>geschorst</dd>" in change
    assert f'aanbieder <a href="/admin/aanbieders#merchant-{merchant_id}">Boekhandel</a>' in page


def test_the_log_is_for_the_admins_own_municipality(client, db):
    make_merchant(db, name="Hier")
    make_merchant(db, OTHER_MUNICIPALITY, name="Elders")
    login_as(client, "admin")
    page = client.get("/admin/auditlog").get_data(as_text=True)
    assert "Hier" in page and "Elders" not in page
    assert client.get("/admin/auditlog?action=merchant.").get_data(as_text=True).count(ADDED) == 1


def test_every_action_the_code_can_record_has_a_dutch_name():
    """The registry ``record_audit`` enforces is complete (every action written anywhere is in it) and
    named in Dutch in the one label table; the calls are read from the source, f-strings included."""
    assert set(AUDIT_ACTIONS) == set(AUDIT_ACTION_TITLES)
    assert all(title and title[0].isupper() and "_" not in title for title in AUDIT_ACTION_TITLES.values())
    literal, patterns = _recorded_actions()
    assert literal, "no record_audit call found: the scan is broken"
    assert literal - AUDIT_ACTIONS == set(), "record_audit is called with actions missing from AUDIT_ACTIONS"
    # Each f-string in a call names a family; every member the code can form must be registered.
    formed = {
        "{kind}_request": {f"{kind}_request" for kind in REQUEST_KINDS},
        "{request.kind}_{verb}": {f"{kind}_{verb}" for kind in REQUEST_KINDS for verb in ("confirm", "reject", "cancel")},
        "settlement.{to_status}": {f"settlement.{status}" for status in BATCH_STATUSES},
        "scheme.{...}": {"scheme.create", "scheme.update"},
    }
    assert patterns <= set(formed), f"an audit action built in a way this test does not know: {patterns - set(formed)}"
    for pattern in patterns:
        assert formed[pattern] <= AUDIT_ACTIONS, pattern


def test_an_action_outside_the_registry_is_refused(db):
    from pasdienst.access.audit import record_audit

    with pytest.raises(ValueError, match="AUDIT_ACTIONS"), db.transaction() as s:
        record_audit(s, None, "pass.teleport", "pass", "KP-2027-000001")


def _recorded_actions() -> tuple[set[str], set[str]]:
    """The action arguments of every ``record_audit`` call under pasdienst/: literals, and f-strings as patterns."""
    literal: set[str] = set()
    patterns: set[str] = set()
    for path in Path(pasdienst.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record_audit"):
                continue
            action = node.args[2] if len(node.args) > 2 else next(k.value for k in node.keywords if k.arg == "action")
            if isinstance(action, ast.Constant):
                literal.add(action.value)
            elif isinstance(action, ast.IfExp):
                literal |= {branch.value for branch in (action.body, action.orelse)}
            elif isinstance(action, ast.JoinedStr):
                text = "".join(part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
                               for part in action.values)
                patterns.add("scheme.{...}" if text.startswith("scheme.") else text)
            else:
                raise AssertionError(f"{path}:{node.lineno}: an audit action this test cannot read")
    return literal, patterns


def test_the_log_names_children_passes_and_merchants_and_links_them(app, client, db, world):
    login_as(client, "admin")
    merchant_id = make_merchant(db, name="Sportclub De Sprint", categories=("sport_culture",))
    post(client, "/admin/kinderen/aanmelden", {
        "child_ref": "GT-1", "first_name": "Mila", "birth_date": "2016-06-01", "override_reason": "huisbezoek",
    }, token_from="/admin/kinderen/aanmelden")
    with db.read() as s:
        mila = s.execute(select(Child).where(Child.child_ref == "GT-1")).scalar_one()
        number = s.execute(select(ChildPass).where(ChildPass.child_id == mila.id)).scalar_one().pass_number
    for page in (client.get("/admin/auditlog").get_data(as_text=True), client.get("/admin").get_data(as_text=True)):
        assert f'kind <a href="/admin/kinderen/{mila.id}">Mila (GT-1)</a>' in page
        assert f'pas <a href="/admin/kinderen/{mila.id}">{number} (Mila)</a>' in page
        assert f'aanbieder <a href="/admin/aanbieders#merchant-{merchant_id}">Sportclub De Sprint</a>' in page
        assert "<td>Kind aangemeld door consulent</td>" in page and "<td>Pas toegekend</td>" in page
        assert "child.register" not in page and "pass.issue" not in page
    # The link goes where it says.
    assert f'id="merchant-{merchant_id}"' in client.get("/admin/aanbieders").get_data(as_text=True)


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

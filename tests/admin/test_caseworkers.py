"""Case workers: a discretionary award with a reason, a pass within the yearly cap, all visible to admins."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pasdienst.admin.models import CaseworkerAward
from pasdienst.ledger.verify import verify
from pasdienst.municipalities.services import budget_figures
from pasdienst.wallet.models import Child, ChildPass
from tests.access.helpers import login_as, make_municipality, make_user

from .conftest import audit_count, last_event, post

pytestmark = pytest.mark.money

VISIT = {
    "child_ref": "GT-77", "first_name": "Mila", "birth_date": "2016-06-01",
    "override_reason": "keukentafelgesprek gebiedsteam 12 maart, schulden",
}
#: What a 10-year-old gets under tests/redeem/conftest.py's scheme: 150 + 50 + 10 × 4.50 + 75.
FULL = 15000 + 5000 + 4500 + 7500


def _counts(db) -> tuple[int, int, int, int]:
    with db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Child)).scalar_one(),
            s.execute(select(func.count()).select_from(ChildPass)).scalar_one(),
            s.execute(select(func.count()).select_from(CaseworkerAward)).scalar_one(),
            budget_figures(s, "testdorp").available,
        )


def _set_cap(app, db, value: str) -> None:
    admin = app.test_client()
    login_as(admin, "admin")
    assert post(admin, "/admin/consulenten/limiet?year=2027", {"max_passes": value}, token_from="/admin/consulenten").status_code == 302


def test_without_a_cap_a_caseworker_cannot_award(client, db, world):
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 409 and "geen jaarlimiet" in response.get_data(as_text=True)
    assert _counts(db) == before and audit_count(db, "child.register") == 0


def test_a_caseworker_registers_a_child_and_issues_its_pass(app, client, db, world):
    _set_cap(app, db, "2")
    worker = login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 302, response.get_data(as_text=True)
    children, passes, awards, fund = _counts(db)
    assert (children, passes, awards) == (before[0] + 1, before[1] + 1, 1) and fund == before[3] - FULL
    with db.read() as s:
        child = s.execute(select(Child).where(Child.child_ref == "GT-77")).scalar_one()
        new_pass = s.execute(select(ChildPass).where(ChildPass.child_id == child.id)).scalar_one()
        assert verify(s).ok
    assert response.headers["Location"] == f"/admin/kinderen/{child.id}"
    assert new_pass.award_basis == "override" and new_pass.status == "active"
    assert child.override_reason == VISIT["override_reason"]
    registered = last_event(db, "child.register")
    issued = last_event(db, "pass.issue")
    assert registered.actor_email == issued.actor_email == worker.email
    assert registered.after["override_reason"] == VISIT["override_reason"] and "birth_date" not in registered.after
    assert issued.after["total_cents"] == FULL
    assert issued.entity_id == new_pass.pass_number  # the pass number, never the row id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert new_pass.pass_number in page and "Brief met deze pas afdrukken" in page and worker.email in page


def test_the_cap_is_per_caseworker_and_year(app, client, db, world):
    _set_cap(app, db, "1")
    login_as(client, "caseworker")
    assert post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden").status_code == 302
    before = _counts(db)
    second = {**VISIT, "child_ref": "GT-78", "first_name": "Jesse"}
    refused = post(client, "/admin/kinderen/aanmelden", second, token_from="/admin/kinderen/aanmelden")
    assert refused.status_code == 409 and "jaarlimiet van 1" in refused.get_data(as_text=True)
    assert _counts(db) == before
    colleague = app.test_client()
    login_as(colleague, "caseworker")
    assert post(colleague, "/admin/kinderen/aanmelden", second, token_from="/admin/kinderen/aanmelden").status_code == 302


def test_an_existing_child_keeps_its_imported_data_and_gets_the_reason(app, client, db, world):
    _set_cap(app, db, "5")
    with db.read() as s:
        sanne = s.execute(select(Child).where(Child.child_ref == "T-1")).scalar_one()
    login_as(client, "caseworker")
    refused = post(client, "/admin/kinderen/aanmelden", {**VISIT, "child_ref": "T-1"}, token_from="/admin/kinderen/aanmelden")
    assert refused.status_code == 409 and "heeft al een pas voor 2027" in refused.get_data(as_text=True)
    with db.read() as s:
        after = s.get(Child, sanne.id)
    assert after.override_reason is None and after.bsn_hash == sanne.bsn_hash


@pytest.mark.parametrize("changes, message", [
    ({"override_reason": " "}, "Geef de reden"),
    ({"birth_date": "31-02-2016"}, "Deze gegevens kloppen niet: geboortedatum (birth_date) &#39;31-02-2016&#39; bestaat niet."),
    ({"first_name": ""}, "Vul het klantnummer"),
    ({"birth_date": "1990-01-01"}, "krijgt een kind van deze leeftijd niets"),
    ({"postcode": "12"}, "postcode"),
])
def test_a_bad_registration_is_refused_and_writes_nothing(app, client, db, world, changes, message):
    _set_cap(app, db, "5")
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", {**VISIT, **changes}, token_from="/admin/kinderen/aanmelden")
    page = response.get_data(as_text=True)
    assert response.status_code in (409, 422) and message in page
    assert 'value="GT-77"' in page  # the form keeps what was typed
    assert _counts(db) == before and audit_count(db, "child.register") == 0


def test_an_award_the_fund_cannot_cover_writes_nothing(app, client, db):
    make_municipality(db)
    from pasdienst.wallet.services import load_scheme
    from tests.redeem.conftest import SCHEME

    with db.transaction() as s:
        load_scheme(s, SCHEME)
    _set_cap(app, db, "5")
    login_as(client, "caseworker")
    before = _counts(db)
    response = post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    assert response.status_code == 409 and "te weinig" in response.get_data(as_text=True)
    assert _counts(db) == before


def test_admins_see_every_award_and_caseworkers_their_own(app, client, db, world):
    _set_cap(app, db, "3")
    first = login_as(client, "caseworker")
    post(client, "/admin/kinderen/aanmelden", VISIT, token_from="/admin/kinderen/aanmelden")
    other = app.test_client()
    login_as(other, "caseworker")
    post(other, "/admin/kinderen/aanmelden", {**VISIT, "child_ref": "GT-78", "first_name": "Jesse"}, token_from="/admin/kinderen/aanmelden")
    own = client.get("/admin/consulenten").get_data(as_text=True)
    assert "Mila" in own and "Jesse" not in own and "U hebt er 1 gebruikt" in own
    admin = app.test_client()
    login_as(admin, "admin")
    everything = admin.get("/admin/consulenten").get_data(as_text=True)
    assert "Mila" in everything and "Jesse" in everything and f"{first.email}: 1 van 3" in everything
    log = admin.get("/admin/auditlog?action=child.").get_data(as_text=True)
    assert log.count("child.register") == 2


def test_a_caseworker_cannot_set_the_cap(client, db, world):
    login_as(client, "caseworker")
    assert post(client, "/admin/consulenten/limiet", {"max_passes": "99"}, token_from="/admin/consulenten").status_code == 403
    assert audit_count(db, "caseworker_cap.set") == 0


def test_a_bad_cap_is_refused(app, client, db):
    make_user(db, "admin")
    login_as(client, "admin")
    for value in ("-1", "veel", ""):
        post(client, "/admin/consulenten/limiet", {"max_passes": value}, token_from="/admin/consulenten")
    assert audit_count(db, "caseworker_cap.set") == 0

"""``/admin/samenwerking``: each member's own admin joins, admits its merchants, leaves; the lead's admin invites."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pasdienst.cooperations import services as coop
from pasdienst.cooperations.models import ACTIVE, CooperationMember, CooperationMerchant
from pasdienst.municipalities.models import Municipality
from tests.factories import login_as, make_merchant, make_municipality, make_user
from tests.admin.conftest import flashes, post

PAGE = "/admin/samenwerking"


@pytest.fixture
def formed(db):
    for code in ("noord", "zuid", "oost"):
        make_municipality(db, code)
    with db.transaction() as s:
        coop.create_cooperation(s, "regio", name="Kindpakket De Regio", lead="noord")
        coop.invite_member(s, "regio", "zuid")
    return {code: make_user(db, "admin", municipality=code, email=f"beheer@{code}.example") for code in ("noord", "zuid", "oost")}


def status(db, code: str) -> str | None:
    with db.read() as s:
        return s.execute(
            select(CooperationMember.status).join(Municipality, Municipality.id == CooperationMember.municipality_id)
            .where(Municipality.code == code)
        ).scalar()


def test_a_municipality_outside_any_cooperation_reads_how_one_is_formed(client, formed):
    login_as(client, formed["oost"])
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="no-cooperation"' in page and "penvoerder" in page
    assert 'href="/admin/samenwerking" aria-current="page"' in page


def test_the_invited_admin_joins_on_the_page(client, db, formed):
    login_as(client, formed["zuid"])
    page = client.get(PAGE).get_data(as_text=True)
    assert "Uitnodiging voor Kindpakket De Regio" in page and "Toetreden tot Kindpakket De Regio" in page
    response = post(client, PAGE, {"action": "join"}, token_from=PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    assert status(db, "zuid") == ACTIVE
    assert flashes(client)[-1].startswith("Uw gemeente is lid")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Gemeente Noord (penvoerder)" in page and "verlaten" in page
    log = client.get("/admin/auditlog?action=cooperation.").get_data(as_text=True)
    assert "Toegetreden tot samenwerkingsverband" in log and "Uitgenodigd voor samenwerkingsverband" in log
    assert '<a href="/admin/samenwerking">regio</a>' in log


def test_an_invitation_can_be_declined(client, db, formed):
    login_as(client, formed["zuid"])
    post(client, PAGE, {"action": "leave"}, token_from=PAGE)
    assert status(db, "zuid") is None


def test_the_lead_invites_and_cannot_leave(client, db, formed):
    login_as(client, formed["noord"])
    page = client.get(PAGE).get_data(as_text=True)
    assert '<option value="oost">Gemeente Oost</option>' in page and "verlaten" not in page
    post(client, PAGE, {"action": "invite", "municipality": "oost"}, token_from=PAGE)
    assert status(db, "oost") == "invited"
    assert "Gemeente Oost is uitgenodigd" in flashes(client)[-1]
    make_municipality(db, "west")
    with db.transaction() as s:
        coop.create_cooperation(s, "ander", name="Ander verband", lead="west")
    post(client, PAGE, {"action": "invite", "municipality": "west"}, token_from=PAGE)
    assert flashes(client)[-1].startswith("Gemeente West hoort al bij een samenwerkingsverband")
    post(client, PAGE, {"action": "leave"}, token_from=PAGE)
    assert "penvoerder" in flashes(client)[-1] and status(db, "noord") == ACTIVE
    post(client, PAGE, {"action": "teleport"}, token_from=PAGE)
    assert flashes(client)[-1].startswith("Kies wat u wilt doen")


def test_a_member_that_is_not_the_lead_cannot_invite(client, db, formed):
    with db.transaction() as s:
        coop.join_cooperation(s, None, "zuid")
    login_as(client, formed["zuid"])
    assert "Gemeente uitnodigen" not in client.get(PAGE).get_data(as_text=True)
    response = post(client, PAGE, {"action": "invite", "municipality": "oost"}, token_from=PAGE)
    assert response.status_code == 403 and status(db, "oost") is None


def test_an_admin_admits_and_withdraws_only_its_own_merchants(client, db, formed):
    sport = make_merchant(db, "noord", name="Sportclub Noord", categories=("sport_culture",))
    mode = make_merchant(db, "zuid", name="Mode Zuid", categories=("clothing",))
    with db.transaction() as s:
        coop.join_cooperation(s, None, "zuid")
    login_as(client, formed["noord"])
    page = client.get(PAGE).get_data(as_text=True)
    assert "Sportclub Noord" in page and "Mode Zuid" not in page.split('id="own-merchants"')[1]
    post(client, f"{PAGE}/aanbieders/{sport}", {"action": "admit"}, token_from=PAGE)
    assert "Sportclub Noord neemt nu de passen van alle leden aan." in flashes(client)[-1]
    assert post(client, f"{PAGE}/aanbieders/{mode}", {"action": "admit"}, token_from=PAGE).status_code == 403
    with db.read() as s:
        assert s.execute(select(CooperationMerchant.merchant_id)).scalars().all() == [sport]
    login_as(client, formed["zuid"])
    assert "Sportclub Noord" in client.get(PAGE).get_data(as_text=True).split('id="coop-merchants"')[1]
    login_as(client, formed["noord"])
    post(client, f"{PAGE}/aanbieders/{sport}", {"action": "withdraw"}, token_from=PAGE)
    with db.read() as s:
        assert s.execute(select(CooperationMerchant.merchant_id)).scalars().all() == []


def test_admitting_before_joining_says_why_in_dutch(client, db, formed):
    mode = make_merchant(db, "zuid", name="Mode Zuid", categories=("clothing",))
    login_as(client, formed["zuid"])
    post(client, f"{PAGE}/aanbieders/{mode}", {"action": "admit"}, token_from=PAGE)
    assert flashes(client)[-1] == "Uw gemeente is geen lid van een samenwerkingsverband, dus Mode Zuid kan niet worden toegelaten."


def test_only_admins(client, db, formed):
    login_as(client, make_user(db, "finance", municipality="noord"))
    assert client.get(PAGE).status_code == 403

"""Finding a child (never by BSN), its page, and blocking and reissuing its pass from /admin."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pasdienst.ledger import verify
from pasdienst.wallet.models import ChildPass
from tests.factories import OTHER_MUNICIPALITY, login_as, make_merchant, make_user, make_token, bearer

from .conftest import audit_count, flashes, last_event, pass_id_of, post
from tests.text import spaced, visible_text

#: A reissue as the confirmation page sends it: a reason and the tick.
REISSUE = {"reason": "lost", "confirm": "1"}


def test_a_child_is_found_by_reference_first_name_or_pass_number(client, db, world):
    login_as(client, "caseworker")
    link = f'href="/admin/kinderen/{_child_id(db, world, "T-1")}"'
    for query in ("T-1", "t-1", "San", "sanne", world.rows["T-1"].pass_id):
        page = client.get("/admin/kinderen", query_string={"q": query}).get_data(as_text=True)
        assert link in page and "1 kind gevonden" in page and "Daan" not in visible_text(page), query


def test_a_child_is_never_found_by_bsn(client, world):
    login_as(client, "admin")
    page = client.get("/admin/kinderen", query_string={"q": "111222333"}).get_data(as_text=True)
    assert "Geen kind gevonden" in page and "/admin/kinderen/1" not in page


def test_a_like_wildcard_in_the_query_matches_only_itself(client, world):
    login_as(client, "admin")
    page = client.get("/admin/kinderen", query_string={"q": "%"}).get_data(as_text=True)
    assert "Geen kind gevonden" in page


def test_another_municipalitys_children_are_not_found(client, db, world):
    login_as(client, "admin", municipality=OTHER_MUNICIPALITY)
    page = client.get("/admin/kinderen", query_string={"q": "Sanne"}).get_data(as_text=True)
    assert "Geen kind gevonden" in page
    child_id = _child_id(db, world, "T-1")
    assert client.get(f"/admin/kinderen/{child_id}").status_code == 404


def _child_id(db, world, ref: str) -> int:
    with db.read() as s:
        return s.get(ChildPass, pass_id_of(world.rows[ref].pass_id)).child_id


@pytest.mark.money
def test_the_child_page_shows_passes_balances_and_redemptions_with_merchant_names(client, db, world):
    merchant_id = make_merchant(db, name="Sportclub De Sprint", categories=("sport_culture",))
    till = make_user(db, "merchant", merchant_id=merchant_id)
    voucher = world.vouchers[pass_id_of(world.rows["T-1"].pass_id)][("budget", "sport_culture")]
    paid = client.post(
        "/api/v1/redemptions", json={"code": world.rows["T-1"].url, "voucher_id": voucher, "amount_cents": 2550},
        headers={**bearer(make_token(db, till)), "Idempotency-Key": "k-1"},
    )
    assert paid.status_code == 201, paid.json
    login_as(client, "caseworker")
    page = spaced(client.get(f"/admin/kinderen/{_child_id(db, world, 'T-1')}").get_data(as_text=True))
    assert world.rows["T-1"].pass_id in page and "actief" in page
    assert "€ 124,50" in page and "€ 150,00" in page  # the sports budget, now and at the start
    assert "Sportclub De Sprint" in page and "€ 25,50" in page and paid.json["receipt_no"] in page
    assert "111222333" not in page and "Pas blokkeren" not in page  # a case worker does not block


def test_blocking_a_pass_needs_a_reason_and_stops_it_at_once(client, db, world):
    login_as(client, "admin")
    number = world.rows["T-1"].pass_id
    pass_id = pass_id_of(number)
    child_page = f"/admin/kinderen/{_child_id(db, world, 'T-1')}"
    refused = post(client, f"/admin/passen/{pass_id}/blokkeren", {"reason": "  "}, token_from=child_page)
    assert refused.status_code == 302 and "Geef een reden" in flashes(client)[0]
    assert audit_count(db, "pass.block") == 0
    with db.read() as s:
        assert s.get(ChildPass, pass_id).status == "active"

    done = post(client, f"/admin/passen/{pass_id}/blokkeren", {"reason": "kwijt, gemeld door moeder"}, token_from=child_page)
    assert done.status_code == 302 and done.headers["Location"] == child_page
    with db.read() as s:
        blocked = s.get(ChildPass, pass_id)
        assert blocked.status == "blocked" and blocked.block_reason == "kwijt, gemeld door moeder"
    event = last_event(db, "pass.block")
    assert event.before["status"] == "active" and event.after["status"] == "blocked"
    assert event.entity_id == number and event.actor_email.startswith("admin")  # the pass number, never the row id
    page = client.get(child_page).get_data(as_text=True)
    assert "geblokkeerd" in page and "kwijt, gemeld door moeder" in page
    assert client.get(world.rows["T-1"].url.replace("https://pas.example.nl", "")).status_code == 409


@pytest.mark.money
def test_a_reissued_pass_carries_the_balance_and_the_old_one_stops(client, db, world, admin_settings):
    login_as(client, "admin")
    old_id = pass_id_of(world.rows["T-1"].pass_id)
    child_page = f"/admin/kinderen/{_child_id(db, world, 'T-1')}"
    response = post(client, f"/admin/passen/{old_id}/vervangen", REISSUE, token_from=child_page)
    assert response.status_code == 302 and response.headers["Location"] == child_page
    with db.read() as s:
        new = s.execute(select(ChildPass).where(ChildPass.replaces_id == old_id)).scalar_one()
        assert s.get(ChildPass, old_id).status == "replaced" and new.status == "active"
        report = verify(s)
    assert report.ok, report
    event = last_event(db, "pass.reissue")
    assert event.entity_id == new.pass_number and event.after["replaces"] == world.rows["T-1"].pass_id
    assert event.after["reason"] == "lost" and "note" not in event.after
    assert "druk de nieuwe brief af" in flashes(client)[0]
    page = client.get(child_page).get_data(as_text=True)
    assert new.pass_number in page and "Brief met deze pas afdrukken" in page
    assert f"Vervangende pas {new.pass_number} gemaakt, tegoed overgezet (reden: kwijt)" in page
    old_url = world.rows["T-1"].url.replace("https://pas.example.nl", "")
    replaced = client.get(old_url)  # the holder's old link says what happened
    assert replaced.status_code == 409 and "Deze pas is vervangen" in replaced.get_data(as_text=True)


def test_reissuing_starts_with_a_page_that_says_what_stops_working(client, db, world):
    login_as(client, "admin")
    number = world.rows["T-1"].pass_id
    child_page = client.get(f"/admin/kinderen/{_child_id(db, world, 'T-1')}").get_data(as_text=True)
    # The child page only links to the step; nothing on it replaces a pass with one click.
    assert f'href="/admin/passen/{pass_id_of(number)}/vervangen"' in child_page
    assert f'action="/admin/passen/{pass_id_of(number)}/vervangen"' not in child_page
    page = client.get(f"/admin/passen/{pass_id_of(number)}/vervangen").get_data(as_text=True)
    assert f"Pas {number} vervangen" in page
    assert "werken de QR-code en de code op de brief" in page and "nieuwe brief afdrukken" in page
    for label in ("Kwijt", "Gestolen", "Beschadigd", "Anders"):
        assert f">{label}</label>" in page
    assert 'name="confirm" type="checkbox" value="1" required' in page
    assert "€ 150,00" in spaced(page)  # what carries over


@pytest.mark.parametrize("form, message", [
    ({"reason": "lost"}, "Vink aan dat u begrijpt"),
    ({"confirm": "1"}, "Kies waarom de pas wordt vervangen"),
    ({"reason": "verloren", "confirm": "1"}, "Kies waarom de pas wordt vervangen"),
    ({"reason": "other", "confirm": "1"}, "Schrijf bij &#39;anders&#39;"),
    ({"reason": "other", "note": "x" * 501, "confirm": "1"}, "te lang"),
])
def test_a_reissue_without_a_reason_or_confirmation_is_refused_and_changes_nothing(client, db, world, form, message):
    login_as(client, "admin")
    pass_id = pass_id_of(world.rows["T-1"].pass_id)
    response = post(client, f"/admin/passen/{pass_id}/vervangen", form, token_from=f"/admin/passen/{pass_id}/vervangen")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page and 'id="form-error"' in page
    with db.read() as s:
        assert s.get(ChildPass, pass_id).status == "active"
    assert audit_count(db, "pass.reissue") == 0


@pytest.mark.money
def test_the_reason_other_keeps_its_note_in_the_audit_event(client, db, world):
    login_as(client, "admin")
    pass_id = pass_id_of(world.rows["T-1"].pass_id)
    post(client, f"/admin/passen/{pass_id}/blokkeren", {"reason": "kapot"})
    response = post(client, f"/admin/passen/{pass_id}/vervangen",
                    {"reason": "other", "note": "  in de was   geweest ", "confirm": "1"})
    assert response.status_code == 302
    event = last_event(db, "pass.reissue")
    assert (event.after["reason"], event.after["note"]) == ("other", "in de was geweest")
    assert event.before["status"] == "blocked"


def test_a_replaced_pass_offers_no_second_reissue(client, db, world):
    login_as(client, "admin")
    pass_id = pass_id_of(world.rows["T-1"].pass_id)
    assert post(client, f"/admin/passen/{pass_id}/vervangen", REISSUE).status_code == 302
    page = client.get(f"/admin/passen/{pass_id}/vervangen")
    assert page.status_code == 409 and "vervangen en kan niet worden vervangen" in page.get_data(as_text=True)
    assert 'name="confirm"' not in page.get_data(as_text=True)
    again = post(client, f"/admin/passen/{pass_id}/vervangen", REISSUE)
    assert again.status_code == 409 and audit_count(db, "pass.reissue") == 1


def test_a_caseworker_cannot_block_or_reissue(client, db, world):
    login_as(client, "caseworker")
    pass_id = pass_id_of(world.rows["T-1"].pass_id)
    assert post(client, f"/admin/passen/{pass_id}/blokkeren", {"reason": "x"}).status_code == 403
    assert post(client, f"/admin/passen/{pass_id}/vervangen", REISSUE).status_code == 403
    assert client.get(f"/admin/passen/{pass_id}/vervangen").status_code == 403
    assert audit_count(db, "pass.block") == 0


def test_an_admin_of_another_municipality_cannot_touch_the_pass(client, db, world):
    login_as(client, "admin", municipality=OTHER_MUNICIPALITY)
    pass_id = pass_id_of(world.rows["T-1"].pass_id)
    assert post(client, f"/admin/passen/{pass_id}/blokkeren", {"reason": "kwijt"}).status_code == 404
    assert post(client, f"/admin/passen/{pass_id}/vervangen", REISSUE).status_code == 404
    assert client.get(f"/admin/passen/{pass_id}/vervangen").status_code == 404
    with db.read() as s:
        assert s.get(ChildPass, pass_id).status == "active"
    assert audit_count(db, "pass.block") == 0 and audit_count(db, "pass.reissue") == 0

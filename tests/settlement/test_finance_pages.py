"""``/finance`` and ``/merchant/uitbetalingen``: the month end in the browser."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from pasdienst.merchants.models import Merchant
from pasdienst.settlement.models import SettlementBatch
from pasdienst.settlement.sepa import parse_summary, validate_pain001
from pasdienst.web.app import create_app
from tests.factories import login_as, make_user

from .conftest import SettlementWorld, a_month, approve, at, create, export, pay
from tests.text import spaced, visible_text

pytestmark = pytest.mark.money


@pytest.fixture
def app(world: SettlementWorld):
    application = create_app(world.settings, db=world.db)
    application.config.update(TESTING=True)
    return application


def logged_in(app, user):
    client = app.test_client()
    login_as(client, user)
    return client


def form_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post(client, path: str, **data: str):
    token = form_token(client.get("/finance").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def flashes(client, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def test_finance_runs_the_month_in_the_browser(app, world: SettlementWorld):
    a_month(world)
    maker, checker = logged_in(app, world.finance), logged_in(app, world.finance2)
    page = spaced(maker.get("/finance").get_data(as_text=True))
    assert "Afrekeningen met aanbieders" in page and "<strong>4</strong> betalingen" in page and "€ 127,49" in page

    made = post(maker, "/finance/afrekeningen", until="2027-03-15")
    assert made.status_code == 302
    batch_id = int(made.headers["Location"].rsplit("/", 1)[-1])
    page = spaced(maker.get(made.headers["Location"]).get_data(as_text=True))
    assert f"Afrekening B{batch_id} is gemaakt: 4 betalingen, € 127,49" in page
    assert "Sportclub De Sprint" in page and "€ 32,50" in page and "Mode &amp; Zo" in page
    assert "Een andere medewerker van financiën controleert" in page and "/goedkeuren" not in page

    refused = post(maker, f"/finance/afrekeningen/{batch_id}/goedkeuren")
    assert "zelf gemaakt" in flashes(maker, refused.headers["Location"])
    page = checker.get(f"/finance/afrekeningen/{batch_id}").get_data(as_text=True)
    assert f"/finance/afrekeningen/{batch_id}/goedkeuren" in page
    post(checker, f"/finance/afrekeningen/{batch_id}/goedkeuren")

    made = post(checker, f"/finance/afrekeningen/{batch_id}/export")
    # A download cannot redirect: the batch page that follows offers the file and the next step.
    assert made.status_code == 303 and made.headers["Location"] == f"/finance/afrekeningen/{batch_id}#volgende-stap"
    page = checker.get(made.headers["Location"]).get_data(as_text=True)
    assert "Het betaalbestand van afrekening" in page and "Betaald melden" in page
    assert f'href="/finance/afrekeningen/{batch_id}/sepa.xml" download>Betaalbestand downloaden' in page
    download = checker.get(f"/finance/afrekeningen/{batch_id}/sepa.xml")
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert f'filename="afrekening-B{batch_id}-sepa.xml"' in download.headers["Content-Disposition"]
    validate_pain001(download.data, "pain.001.001.09")
    assert parse_summary(download.data)["ctrl_sum_cents"] == 12749
    assert maker.get(f"/finance/afrekeningen/{batch_id}/sepa.xml").data == download.data

    csv = maker.get(f"/finance/afrekeningen/{batch_id}/regels.csv")
    assert csv.mimetype == "text/csv" and "Sportclub De Sprint" in csv.data.decode("utf-8-sig")
    statement = maker.get(f"/finance/afrekeningen/{batch_id}/aanbieder/{world.merchants['sport']}")
    assert statement.status_code == 200 and "Afrekening kindpakket" in statement.get_data(as_text=True)

    post(maker, f"/finance/afrekeningen/{batch_id}/betaald")
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch_id).status == "paid"
    listing = maker.get("/finance").get_data(as_text=True)
    assert f">B{batch_id}</a>" in listing and "Betaald" in listing
    assert world.verify() == []


def test_nothing_to_settle_or_a_bad_date_is_said_on_the_page_and_writes_nothing(app, world: SettlementWorld):
    client = logged_in(app, world.finance)
    for until, message in (("2027-03-15", "Er is niets af te rekenen"), ("2027-03-16", "Kies vandaag of een eerdere datum"), ("", "Kies de datum")):
        response = post(client, "/finance/afrekeningen", until=until)
        assert response.status_code == 302
        assert message.lower() in flashes(client, response.headers["Location"]).lower()
    with world.db.read() as s:
        assert s.execute(select(SettlementBatch.id)).first() is None


def test_an_invalid_merchant_iban_shows_on_the_preview_and_blocks_approval(app, world: SettlementWorld):
    a_month(world)
    batch = create(world)
    with world.db.transaction() as s:
        s.execute(update(Merchant).where(Merchant.id == world.merchants["school"]).values(iban="NL91ABNA0417164399"))
    client = logged_in(app, world.finance2)
    page = client.get(f"/finance/afrekeningen/{batch.id}").get_data(as_text=True)
    assert "klopt niet" in page and "check digits" in page
    response = post(client, f"/finance/afrekeningen/{batch.id}/goedkeuren")
    assert "rekeningnummer van een aanbieder klopt niet" in flashes(client, response.headers["Location"])
    with world.db.read() as s:
        assert s.get(SettlementBatch, batch.id).status == "draft"


def test_another_municipality_does_not_see_the_batch(app, world: SettlementWorld):
    a_month(world)
    batch = create(world)
    stranger = logged_in(app, make_user(world.db, "finance", municipality="anderdorp"))
    assert stranger.get(f"/finance/afrekeningen/{batch.id}").status_code == 404
    assert stranger.get(f"/finance/afrekeningen/{batch.id}/regels.csv").status_code == 404
    assert post(stranger, f"/finance/afrekeningen/{batch.id}/goedkeuren").status_code == 404
    index = stranger.get("/finance").get_data(as_text=True)
    assert f"/finance/afrekeningen/{batch.id}\"" not in index and "nog geen afrekeningen" in index


def test_a_merchant_sees_its_redemptions_per_batch_and_when_it_was_paid(app, world: SettlementWorld):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    pay(world, batch.id)
    world.redeem("sport", 500, at(15, 9))
    user = make_user(world.db, "merchant", merchant_id=world.merchants["sport"])
    client = logged_in(app, user)
    page = spaced(client.get("/merchant/uitbetalingen").get_data(as_text=True))
    assert f'<h3 id="payout-{batch.id}">Afrekening B{batch.id}</h3>' in page and "Betaald op" in page and "€ 32,50" in page
    assert "<strong>1</strong> betaling, samen <strong>€ 5,00</strong>" in page
    statement = spaced(client.get(f"/merchant/uitbetalingen/{batch.id}").get_data(as_text=True))
    assert "Sportclub De Sprint" in statement and "€ 12,50" in statement and "Uitbetaald op" in statement
    assert "Mode" not in visible_text(statement)  # the other merchant's name; the page's tokens may hold any four letters
    assert client.get("/merchant/uitbetalingen/987654").status_code == 404
    assert 'href="/merchant/uitbetalingen"' in client.get("/merchant").get_data(as_text=True)


def test_a_merchant_does_not_see_a_draft_or_another_merchants_statement(app, world: SettlementWorld):
    a_month(world)
    batch = create(world)
    user = make_user(world.db, "merchant", merchant_id=world.merchants["school"])
    client = logged_in(app, user)
    assert client.get(f"/merchant/uitbetalingen/{batch.id}").status_code == 404
    assert "Er zijn nog geen afrekeningen" in client.get("/merchant/uitbetalingen").get_data(as_text=True)
    approve(world, batch.id)
    assert client.get(f"/merchant/uitbetalingen/{batch.id}").status_code == 200
    assert client.get(f"/finance/afrekeningen/{batch.id}/aanbieder/{world.merchants['sport']}").status_code == 403


def test_an_admin_follows_the_audit_log_to_the_batch_and_only_reads_it(app, world: SettlementWorld):
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    admin = logged_in(app, world.admin)
    log = admin.get("/admin/auditlog?action=settlement.").get_data(as_text=True)
    link = f'afrekening <a href="/finance/afrekeningen/{batch.id}">B{batch.id}</a>'
    assert link in log and "<td>Afrekening gemaakt</td>" in log and "<td>Afrekening goedgekeurd</td>" in log
    page = admin.get(f"/finance/afrekeningen/{batch.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sportclub De Sprint" in text and "als beheerder" in text
    assert "/export" not in text and "/terugboekingen" not in text and "/annuleren" not in text
    assert admin.get(f"/finance/afrekeningen/{batch.id}/regels.csv").status_code == 200
    assert admin.get(f"/finance/afrekeningen/{batch.id}/aanbieder/{world.merchants['sport']}").status_code == 200
    # Acting stays with finance.
    assert admin.get("/finance").status_code == 403
    assert admin.get(f"/finance/afrekeningen/{batch.id}/sepa.xml").status_code == 403
    token = form_token(admin.get("/admin").get_data(as_text=True))
    assert admin.post(f"/finance/afrekeningen/{batch.id}/export", data={"csrf_token": token}).status_code == 403
    stranger = logged_in(app, make_user(world.db, "admin", municipality="anderdorp"))
    assert stranger.get(f"/finance/afrekeningen/{batch.id}").status_code == 404


def test_every_finance_page_calls_a_redemption_a_payment(app, world: SettlementWorld):
    """One word, as at the till, on the pass page and in the merchant's payouts: "betaling"; the bank
    transfer to a merchant is an "uitbetaling"."""
    a_month(world)
    batch = create(world)
    approve(world, batch.id)
    export(world, batch.id)
    client = logged_in(app, world.finance)
    merchant = logged_in(app, make_user(world.db, "merchant", merchant_id=world.merchants["sport"]))
    pages = [
        client.get("/finance"), client.get(f"/finance/afrekeningen/{batch.id}"),
        client.get(f"/finance/afrekeningen/{batch.id}/aanbieder/{world.merchants['sport']}"),
        merchant.get("/merchant/uitbetalingen"), merchant.get(f"/merchant/uitbetalingen/{batch.id}"),
    ]
    for response in pages:
        text = response.get_data(as_text=True).lower()
        assert response.status_code == 200 and "betaling" in text
        assert "verzilver" not in text and "transactie" not in text, response.request.path

"""``/finance/samenwerking``: the members' figures for every member's finance staff, and the lead's payment runs.

The region (``conftest.py``): ``noord`` leads, ``zuid`` is a member, ``elders``
is outside. Four payments, worked out by hand:

=========  ==============  ============  ======
paid by    at              merchant of   cents
=========  ==============  ============  ======
zuid       Sportclub Noord noord          2500
noord      Sportclub Noord noord          1000
noord      Mode Zuid       zuid           3000
zuid       Mode Zuid       zuid           4000
=========  ==============  ============  ======

So noord pays 40.00 (10.00 to its own merchants, 30.00 to zuid's) and zuid
65.00 (40.00 own, 25.00 to noord's); a run pays Sportclub Noord 35.00 and
Mode Zuid 70.00.
"""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from pasdienst.cooperations import figures
from pasdienst.settlement import batches
from pasdienst.settlement.models import APPROVED, PAID
from pasdienst.settlement.sepa import parse_summary
from pasdienst.web.app import create_app
from tests.factories import login_as, make_user
from tests.admin.conftest import flashes, post
from tests.cooperations.conftest import at, form_region
from tests.text import spaced

pytestmark = pytest.mark.money

PAGE = "/finance/samenwerking"


class _Tables(HTMLParser):
    """The rows of every table with an id, as the texts of their cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id"):
            self._table = dict(attrs)["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(spaced(" ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def approved(region, member: str) -> int:
    first, second = region.finance[member]
    with region.db.transaction() as s:
        batch = batches.create_batch(s, region.actor(first), member, until=at(10).date(), today=at(10).date())
    with region.db.transaction() as s:
        batches.approve_batch(s, region.actor(second), batch.id)
    return batch.id


def four_payments(region) -> tuple[int, int]:
    region.redeem("sport", "zuid", 2500, when=at(2))
    region.redeem("sport", "noord", 1000, when=at(3))
    region.redeem("mode", "noord", 3000, when=at(4))
    region.redeem("mode", "zuid", 4000, when=at(5))
    return approved(region, "noord"), approved(region, "zuid")


@pytest.fixture
def client(db, region_settings):
    app = create_app(region_settings, db=db)
    app.config.update(TESTING=True)
    return app.test_client()


def test_every_member_reads_the_figures_per_member_and_who_pays_whom(db, region_settings):
    region = form_region(db, region_settings)
    noord_batch, zuid_batch = four_payments(region)
    with db.read() as s:
        found = figures.finance_overview(s, region.actor(region.finance["zuid"][0]), 2027)
    assert found is not None and not found.lead and not found.pays and found.waiting == ()
    assert [(m.code, m.batches, m.count, m.payout_cents, m.own_merchants_cents, m.fellow_merchants_cents, m.paid_cents)
            for m in found.members] == [("noord", 1, 2, 4000, 1000, 3000, 0), ("zuid", 1, 2, 6500, 4000, 2500, 0)]
    assert found.flows == {("noord", "noord"): 1000, ("noord", "zuid"): 3000, ("zuid", "noord"): 2500, ("zuid", "zuid"): 4000}
    assert [(b.code, b.batch_id, b.status, b.payout_cents, b.own) for b in found.batches] == [
        ("zuid", zuid_batch, APPROVED, 6500, True), ("noord", noord_batch, APPROVED, 4000, False),
    ]
    outsider = make_user(db, "finance", municipality="elders", email="fin@elders.example")
    with db.read() as s:
        assert figures.finance_overview(s, region.actor(region.finance["zuid"][0]), 2026).members[1].payout_cents == 0
        assert figures.finance_overview(s, region.actor(outsider), 2027) is None


def test_the_page_shows_the_members_own_batch_linked_and_the_others_not(client, db, region_settings):
    region = form_region(db, region_settings)
    noord_batch, zuid_batch = four_payments(region)
    login_as(client, region.finance["zuid"][0])
    page = client.get(PAGE).get_data(as_text=True)
    found = tables(page)
    assert found["members"][1:] == [
        ["Gemeente Noord (penvoerder)", "1", "2", "€ 40,00", "€ 10,00", "€ 30,00", "€ 0,00"],
        ["Gemeente Zuid", "1", "2", "€ 65,00", "€ 40,00", "€ 25,00", "€ 0,00"],
    ]
    assert found["flows"][1:] == [
        ["Gemeente Noord", "€ 10,00", "€ 30,00"], ["Gemeente Zuid", "€ 25,00", "€ 40,00"],
    ]
    assert f'href="/finance/afrekeningen/{zuid_batch}"' in page and f'href="/finance/afrekeningen/{noord_batch}"' not in page
    assert 'href="/finance/samenwerking" aria-current="page"' in page
    assert "Betaalrun maken" not in page and 'id="runs"' not in page  # each member pays for itself
    outsider = make_user(db, "finance", municipality="elders", email="fin@elders.example")
    login_as(client, outsider)
    assert 'id="no-cooperation"' in client.get(PAGE).get_data(as_text=True)


def test_the_lead_pays_every_members_batch_in_a_run_from_the_page(client, db, region_settings):
    region = form_region(db, region_settings, payout="cooperation")
    noord_batch, zuid_batch = four_payments(region)
    sport, mode = region.merchants["sport"], region.merchants["mode"]

    # zuid's batch page says who pays it; zuid's finance cannot make the run.
    login_as(client, region.finance["zuid"][0])
    batch_page = client.get(f"/finance/afrekeningen/{zuid_batch}").get_data(as_text=True)
    assert 'id="paid-by-cooperation"' in batch_page and "Betaalbestand maken" not in batch_page
    assert "Betaalrun maken" not in client.get(PAGE).get_data(as_text=True)
    assert post(client, f"{PAGE}/betaalruns", token_from=PAGE).status_code == 302
    assert flashes(client)[-1] == "Alleen de financiële medewerkers van de penvoerder, Gemeente Noord, maken een betaalrun van Kindpakket De Regio."

    login_as(client, region.finance["noord"][0])
    page = client.get(PAGE).get_data(as_text=True)
    assert "Betaalrun maken" in page and "samen <strong>€ 105,00</strong>" in spaced(page)
    made = post(client, f"{PAGE}/betaalruns", token_from=PAGE)
    assert made.status_code == 303 and "/finance/samenwerking/betaalruns/" in made.headers["Location"]
    run_url = made.headers["Location"].removeprefix("http://localhost")
    run_id = int(run_url.rsplit("/", 1)[1])
    assert spaced(flashes(client)[-1]).startswith(f"Betaalrun R{run_id} is gemaakt: 4 betalingen, € 105,00.")
    post(client, f"{PAGE}/betaalruns", token_from=PAGE)  # nothing waits any more
    assert flashes(client)[-1] == "Geen goedgekeurde afrekening van de leden van Kindpakket De Regio wacht op betaling."

    run_page = client.get(run_url).get_data(as_text=True)
    found = tables(run_page)
    assert found["shares"][1:] == [
        ["Gemeente Noord", f"B{noord_batch}", "2", "€ 40,00"], ["Gemeente Zuid", f"B{zuid_batch}", "2", "€ 65,00"],
        ["Totaal", "€ 105,00"],
    ]
    assert found["payments"][1:] == [
        ["Mode Zuid € 70,00", "NL91ABNA0417164300", f"KP-R{run_id}-M{mode}", "Gemeente Noord", f"B{noord_batch}", "€ 30,00"],
        ["Gemeente Zuid", f"B{zuid_batch}", "€ 40,00"],
        ["Sportclub Noord € 35,00", "NL91ABNA0417164300", f"KP-R{run_id}-M{sport}", "Gemeente Noord", f"B{noord_batch}", "€ 10,00"],
        ["Gemeente Zuid", f"B{zuid_batch}", "€ 25,00"],
    ]
    assert client.get(f"{run_url}/sepa.xml").status_code == 302  # no file before it is made
    post(client, f"{run_url}/betaalbestand", token_from=run_url)
    sepa = client.get(f"{run_url}/sepa.xml")
    summary = parse_summary(sepa.data)
    assert summary["debtor_iban"] == "NL44RABO0123456789" and summary["ctrl_sum_cents"] == 10500
    assert sepa.headers["Content-Disposition"] == f'attachment; filename="betaalrun-R{run_id}-sepa.xml"'

    # zuid reads the run and its allocation, but the bank file is the lead's.
    login_as(client, region.finance["zuid"][0])
    member_view = client.get(run_url).get_data(as_text=True)
    assert "Betaald melden" not in member_view and "penvoerder maken het betaalbestand" in member_view
    allocation = list(csv.reader(io.StringIO(client.get(f"{run_url}/verdeling.csv").data.decode("utf-8-sig")), delimiter=";"))
    assert sorted((row[5], row[8]) for row in allocation[1:]) == [
        ("noord", "10,00"), ("noord", "30,00"), ("zuid", "25,00"), ("zuid", "40,00"),
    ]
    assert client.get(f"{run_url}/sepa.xml").status_code == 404
    assert post(client, f"{run_url}/betaald", token_from=run_url).status_code == 404

    login_as(client, region.finance["noord"][1])
    assert post(client, f"{run_url}/betaald", token_from=run_url).status_code == 303
    assert flashes(client)[-1].startswith(f"Betaalrun R{run_id} is als betaald gemeld")
    with db.read() as s:
        found = figures.finance_overview(s, region.actor(region.finance["zuid"][0]), 2027)
    assert [b.status for b in found.batches] == [PAID, PAID]
    assert [(r.id, r.status, r.total_cents, r.own_cents) for r in found.runs] == [(run_id, "paid", 10500, 6500)]
    assert [m.paid_cents for m in found.members] == [4000, 6500]
    assert region.verify() == []

    # A finance user outside the cooperation does not find the run.
    login_as(client, make_user(db, "finance", municipality="elders", email="fin@elders.example"))
    assert client.get(run_url).status_code == 404


def test_a_run_cannot_be_made_when_each_member_pays_for_itself(client, db, region_settings):
    region = form_region(db, replace(region_settings))
    four_payments(region)
    login_as(client, region.finance["noord"][0])
    assert post(client, f"{PAGE}/betaalruns", token_from=PAGE).status_code == 302
    assert flashes(client)[-1].startswith("Bij Kindpakket De Regio betaalt elke gemeente zelf")

"""What the child sees at /p/<token>: a gift card, nothing about why."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import func, select

from pasdienst.wallet import codes, tokens
from pasdienst.wallet.models import PassImage
from pasdienst.wallet.services import block_pass, reissue_pass

from .helpers import TODAY, issued, pass_of, spend

#: Words that would mark the holder as poor, or tell why the child has the pass.
STIGMA = re.compile(
    r"minima|armoede|arm\b|bijstand|uitkering|inkomen|schuld|sociaal minimum|laag inkomen|kindpakket|regeling|steun",
    re.IGNORECASE,
)


@pytest.fixture
def page_app(settings, db):
    """The app with "today" inside the 2027 scheme."""
    from pasdienst.web.app import create_app

    app = create_app(replace(settings, today=TODAY), db=db)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def nora(page_app, db, settings):
    issued(db, settings)
    spend(db, "K-1", "sport_culture", 2550)
    spend(db, "K-1", "zwemmen", 3 * 450)
    with db.read() as s:
        found = pass_of(s, "K-1")
        return {
            "token": tokens.token_for(settings, found.handle),
            "code": codes.display(codes.code_of(settings, found.handle, found.code_hash)),
            "number": found.pass_number,
            "id": found.id,
        }


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_pass_page_shows_qr_code_balances_strips_dates_and_where_to_spend(page_app, nora):
    response = page_app.test_client().get(f"/p/{nora['token']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    words = visible_text(html)
    assert 'lang="nl"' in html and 'name="viewport"' in html
    assert "Nora" in words and nora["code"] in words and nora["number"] in words
    assert f'src="/p/{nora["token"]}/qr.svg"' in html
    assert "€ 124,50" in words  # 150.00 − 25.50
    assert "7 strippen over" in words
    assert "€ 75,01" in words
    assert "Geldig t/m 31 december 2027" in words
    assert "sportclubs, zwembaden" in words and "kleding- en schoenenwinkels" in words


def test_the_pass_page_carries_no_stigmatising_words_and_no_income_data(page_app, nora):
    html = page_app.test_client().get(f"/p/{nora['token']}").get_data(as_text=True)
    letter = page_app.test_client().get(f"/p/{nora['token']}/brief").get_data(as_text=True)
    for page in (html, letter):
        assert STIGMA.search(visible_text(page)) is None, STIGMA.search(visible_text(page))
        assert STIGMA.search(page) is None
        assert "100%" not in page and "override" not in page.lower() and "keukentafel" not in page


def test_the_stigma_check_itself_would_catch_a_word():
    assert STIGMA.search("Tegoed voor minima") and STIGMA.search("Kindpakket") and not STIGMA.search("Tegoed sport")


def test_the_pass_page_is_private_uncached_and_unindexed(page_app, nora):
    for path in ("", "/qr.svg", "/qr.png", "/brief"):
        response = page_app.test_client().get(f"/p/{nora['token']}{path}")
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response.headers["X-Robots-Tag"]


def test_the_pass_pages_have_no_inline_script_or_style(page_app, nora):
    for path in ("", "/brief"):
        html = page_app.test_client().get(f"/p/{nora['token']}{path}").get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert "/static/wallet/pass.css" in html


def test_the_qr_images_hold_the_pass_url_and_are_rendered_once_then_stored(page_app, nora, db, settings):
    client = page_app.test_client()
    with db.read() as s:
        assert s.get(PassImage, nora["id"]) is None  # issued through the service: not rendered yet
    png = client.get(f"/p/{nora['token']}/qr.png")
    assert png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert image.size[0] == image.size[1] >= 370  # version 4/5 at 10 px a module
    svg = client.get(f"/p/{nora['token']}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<svg")
    with db.read() as s:
        stored = s.get(PassImage, nora["id"])
        assert stored.png == png.data and stored.svg.encode() == svg.data
        created = stored.created_at
    client.get(f"/p/{nora['token']}/qr.png")
    with db.read() as s:
        assert s.get(PassImage, nora["id"]).created_at == created
        assert s.execute(select(func.count()).select_from(PassImage)).scalar_one() == 1


def test_the_letter_is_printable_with_qr_code_code_and_balances(page_app, nora):
    html = page_app.test_client().get(f"/p/{nora['token']}/brief").get_data(as_text=True)
    words = visible_text(html)
    assert f'src="/p/{nora["token"]}/qr.png"' in html
    assert "/static/wallet/letter.css" in html
    assert nora["code"] in words and nora["number"] in words and "€ 124,50" in words and "7 strippen" in words
    assert f"https://pas.example.nl/p/{nora['token']}" in words


@pytest.mark.parametrize(
    "mangle, status, title",
    [
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), 422, "niet bekend"),
        (lambda t: "nonsense", 422, "niet bekend"),
    ],
)
def test_an_invalid_address_gets_a_friendly_dutch_page(page_app, nora, mangle, status, title):
    response = page_app.test_client().get(f"/p/{mangle(nora['token'])}")
    assert response.status_code == status
    assert title in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_blocked_pass_gets_a_friendly_dutch_page(page_app, nora, db):
    with db.transaction() as s:
        block_pass(s, nora["number"], reason="kwijt")
    for path in ("", "/qr.png", "/brief"):
        response = page_app.test_client().get(f"/p/{nora['token']}{path}")
        assert response.status_code == 409
        assert "geblokkeerd" in response.get_data(as_text=True)


def test_a_replaced_pass_says_so_and_the_new_one_shows_the_carried_balance(page_app, nora, db, settings):
    with db.transaction() as s:
        new = reissue_pass(s, nora["number"], settings=settings, today=TODAY)
        new_token = tokens.token_for(settings, new.handle)
    client = page_app.test_client()
    for path in ("", "/brief", "/qr.svg"):
        old = client.get(f"/p/{nora['token']}{path}")
        words = visible_text(old.get_data(as_text=True))
        assert old.status_code == 409 and "Deze pas is vervangen" in words and "nieuwe brief" in words
        assert "Gemeente Opsterland" in words  # whom to ask: the pass's own municipality
    forged = client.get(f"/p/{nora['token'][:-2]}xx")
    assert forged.status_code == 422 and "Deze pas is niet bekend" in visible_text(forged.get_data(as_text=True))
    response = client.get(f"/p/{new_token}")
    assert response.status_code == 200 and "€ 124,50" in visible_text(response.get_data(as_text=True))


def test_an_expired_pass_gets_a_friendly_dutch_page(nora, db, settings):
    from pasdienst.web.app import create_app

    app = create_app(replace(settings, today=date(2028, 1, 1)), db=db)
    response = app.test_client().get(f"/p/{nora['token']}")
    assert response.status_code == 409 and "verlopen" in response.get_data(as_text=True)


def test_a_pass_whose_year_has_not_started_is_shown_with_its_start_date(nora, db, settings):
    from pasdienst.web.app import create_app

    app = create_app(replace(settings, today=date(2026, 12, 1)), db=db)
    response = app.test_client().get(f"/p/{nora['token']}")
    assert response.status_code == 200
    assert "Deze pas werkt vanaf 1 januari 2027" in visible_text(response.get_data(as_text=True))


# -- where the pass can be spent ---------------------------------------------------

def opsterland_merchants(db) -> dict[str, int]:  # noqa: ANN001
    """A sports club, a pool bound to the swimming card, a clothes shop, a bike
    shop (no voucher of its kind on the pass) and a dance school still waiting for approval."""
    from pasdienst.redeem.merchants import bind_voucher_code, set_listing
    from tests.access.helpers import make_merchant

    made = {
        "club": make_merchant(db, "opsterland", name="Sportclub De Sprint", categories=("sport_culture",)),
        "pool": make_merchant(db, "opsterland", name="Zwembad De Golf", categories=("sport_culture",)),
        "shop": make_merchant(db, "opsterland", name="Mode & Zo", categories=("clothing",)),
        "bikes": make_merchant(db, "opsterland", name="Fietsenmaker Van Dam", categories=("transport",)),
        "dance": make_merchant(db, "opsterland", name="Dansschool Swing", categories=("sport_culture",), status="pending"),
    }
    with db.transaction() as s:
        set_listing(s, made["club"], place="Gorredijk", offer="Voetbal, judo en atletiek", website="www.desprint.example")
        set_listing(s, made["pool"], place="Beetsterzwaag", offer="Zwemles (A, B en C) en vrij zwemmen", website=None)
        set_listing(s, made["shop"], place="Gorredijk", offer=None, website="https://modeenzo.example/kinderen")
        bind_voucher_code(s, made["pool"], "zwemmen")
    return made


def test_the_pass_page_lists_per_voucher_the_merchants_that_take_it_honouring_bindings(page_app, nora, db):
    opsterland_merchants(db)
    html = page_app.test_client().get(f"/p/{nora['token']}").get_data(as_text=True)
    cards = {
        title: visible_text(body)
        for title, body in re.findall(r'<h3>([^<]+)</h3>(.*?)</li>\s*(?=<li class="voucher|</ul>\s*<section)', html, re.S)
    }
    assert set(cards) == {"Tegoed sport en cultuur", "Strippenkaart zwemmen", "Fashioncheque"}
    sport, swim, cheque = cards["Tegoed sport en cultuur"], cards["Strippenkaart zwemmen"], cards["Fashioncheque"]
    assert "Te gebruiken bij 2 aanbieders" in sport and "Sportclub De Sprint , Gorredijk" in sport
    assert "Voetbal, judo en atletiek" in sport and "Zwembad De Golf , Beetsterzwaag" in sport
    # the swimming card is bound to the pool: not "every sports club"
    assert "Alleen te gebruiken bij 1 aanbieder" in swim and "Zwembad De Golf" in swim and "Sprint" not in swim
    assert "sportclubs" not in swim
    assert "Mode &amp; Zo" in cheque or "Mode & Zo" in cheque
    for everywhere in (sport, swim, cheque):
        assert "Fietsenmaker" not in everywhere and "Dansschool" not in everywhere  # no such voucher; not approved
    assert '<a href="https://www.desprint.example" rel="noopener noreferrer nofollow">Sportclub De Sprint</a>' in html
    assert '<a href="https://modeenzo.example/kinderen" rel="noopener noreferrer nofollow">Mode &amp; Zo</a>' in html
    assert "Eén strip is € 4,50 waard." in visible_text(html).replace("\xa0", " ")


def test_a_voucher_no_merchant_takes_yet_says_what_kind_of_place_will(page_app, nora, db):
    from tests.access.helpers import make_merchant

    make_merchant(db, "opsterland", name="Fietsenmaker Van Dam", categories=("transport",))
    words = visible_text(page_app.test_client().get(f"/p/{nora['token']}").get_data(as_text=True))
    assert "Te gebruiken bij kleding- en schoenenwinkels. Nog geen aanbieder in de buurt doet mee" in words

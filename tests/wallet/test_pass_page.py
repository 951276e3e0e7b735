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
from tests.factories import login_as, make_merchant

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
    for path in ("", "/qr.svg", "/qr.png", "/brief", "/manifest.webmanifest"):
        response = page_app.test_client().get(f"/p/{nora['token']}{path}")
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response.headers["X-Robots-Tag"]


def test_the_pass_pages_have_no_inline_script_or_style(page_app, nora):
    for path in ("", "/brief"):
        html = page_app.test_client().get(f"/p/{nora['token']}{path}").get_data(as_text=True)
        # Scripts only from our own files (the pass page's pass.js), never inline.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
        assert all(re.search(r'\bsrc="/static/', attributes) and not body.strip() for attributes, body in scripts), scripts
        assert html.count("<script") == len(scripts)
        assert "style=" not in html and "<style" not in html
        assert "/static/wallet/pass.css" in html
    assert len(re.findall("<script", page_app.test_client().get(f"/p/{nora['token']}/brief").get_data(as_text=True))) == 0


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

def opsterland_merchants(db) -> dict[str, int]:
    """A sports club, a pool bound to the swimming card, a clothes shop, a bike
    shop (no voucher of its kind on the pass) and a dance school still waiting for approval."""
    from pasdienst.merchants.bindings import bind_voucher_code
    from pasdienst.merchants.records import set_listing
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

    make_merchant(db, "opsterland", name="Fietsenmaker Van Dam", categories=("transport",))
    words = visible_text(page_app.test_client().get(f"/p/{nora['token']}").get_data(as_text=True))
    assert "Te gebruiken bij kleding- en schoenenwinkels. Nog geen aanbieder in de buurt doet mee" in words


# -- on a phone without data -------------------------------------------------------

def test_the_pass_page_offers_itself_for_the_home_screen_and_for_offline_use(page_app, nora):
    html = page_app.test_client().get(f"/p/{nora['token']}").get_data(as_text=True)
    token = nora["token"]
    assert f'<link rel="manifest" href="/p/{token}/manifest.webmanifest">' in html
    assert re.search(r'<script type="module" src="/static/wallet/pass\.js\?v=[0-9a-f]{12}"></script>', html)
    # The worker is registered for this pass's own address and nothing wider.
    assert f'data-scope="/p/{token}" data-worker="/p/sw.js"' in html
    # The note the kept copy shows is on the live page too, hidden; the worker
    # unhides it by dropping the "hidden" right after data-stored.
    assert re.search(r'<p class="pass-stored" data-stored hidden><strong>Saldo van 15 januari \d\d:\d\d</strong>', html)


def test_the_manifest_names_the_pass_plainly_and_opens_this_pass(page_app, nora):
    client = page_app.test_client()
    response = client.get(f"/p/{nora['token']}/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    manifest = response.get_json()
    home = f"/p/{nora['token']}"
    assert manifest["name"] == "Kinderpas van Nora" and manifest["short_name"] == "Pas Nora"
    assert manifest["start_url"] == manifest["scope"] == manifest["id"] == home
    assert manifest["display"] == "standalone" and manifest["lang"] == "nl"
    assert STIGMA.search(response.get_data(as_text=True)) is None
    sizes = {}
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/static/wallet/icon-")  # our own files: no icon service, no CDN
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"
        width, height = Image.open(io.BytesIO(image.data)).size
        assert icon["sizes"] == f"{width}x{height}" and width == height
        sizes.setdefault(icon["purpose"], set()).add(width)
    # What Chrome asks of an app for the home screen: 192 and 512 px, and a maskable one for Android.
    assert sizes == {"any": {192, 512}, "maskable": {512}}


def test_a_long_first_name_gets_the_plain_word_under_the_icon(page_app, nora, db):
    from pasdienst.wallet.models import Child, ChildPass

    with db.transaction() as s:
        s.get(Child, s.get(ChildPass, nora["id"]).child_id).first_name = "Maximiliaan"
    manifest = page_app.test_client().get(f"/p/{nora['token']}/manifest.webmanifest").get_json()
    assert manifest["name"] == "Kinderpas van Maximiliaan" and manifest["short_name"] == "Kinderpas"


def test_a_refused_pass_has_no_manifest(page_app, nora, db):
    with db.transaction() as s:
        block_pass(s, nora["number"], reason="kwijt")
    client = page_app.test_client()
    response = client.get(f"/p/{nora['token']}/manifest.webmanifest")
    assert response.status_code == 409 and "geblokkeerd" in response.get_data(as_text=True)
    assert client.get(f"/p/{nora['token'][:-2]}xx/manifest.webmanifest").status_code == 422


def test_the_service_worker_is_one_script_for_every_pass_without_a_token(page_app, nora):
    response = page_app.test_client().get("/p/sw.js")  # not taken for a pass called "sw.js"
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-store"  # a deploy's new worker is seen at the next visit
    script = response.get_data(as_text=True)
    assert "self.registration.scope" in script and nora["token"] not in script
    # The token in its scope is a secret: the worker logs nothing.
    assert "console." not in script


def test_the_pass_page_runs_its_worker_under_the_strict_csp(page_app, nora):
    csp = page_app.test_client().get(f"/p/{nora['token']}").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives["worker-src"] == "'self'" and directives["manifest-src"] == "'self'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert "unsafe-inline" not in csp


def test_a_logged_in_phone_shows_a_pass_but_keeps_no_copy_of_it(page_app, nora):
    """A cashier who opens a child's QR code with the phone's camera app, or a
    case worker at a desk, sees the pass; their browser keeps no copy of it."""

    client = page_app.test_client()
    login_as(client, "merchant", municipality="opsterland")
    html = client.get(f"/p/{nora['token']}").get_data(as_text=True)
    assert "Nora" in visible_text(html) and "€ 124,50" in visible_text(html)
    assert 'rel="manifest"' not in html and "pass.js" not in html and "data-worker" not in html


def test_after_a_key_rotation_the_printed_address_stays_the_pages_own(nora, db, settings):
    """An older key still opens the pass: the QR image, the manifest and the
    worker's scope are all under the address the family opened, or the worker
    would keep a page that is not the one its scope covers."""
    from pasdienst.web.app import create_app

    rotated = replace(settings, today=TODAY, secret_keys=(*settings.secret_keys, "a-brand-new-key-0123456789"))
    html = create_app(rotated, db=db).test_client().get(f"/p/{nora['token']}").get_data(as_text=True)
    token = nora["token"]  # signed with the older key
    assert f'data-scope="/p/{token}"' in html and f'src="/p/{token}/qr.svg"' in html
    assert f'href="/p/{token}/manifest.webmanifest"' in html and f'href="/p/{token}/brief"' in html

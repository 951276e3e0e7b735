"""Static files of the merchant scan page: hashes, caching, gzip, the vendored decoder, the size budget."""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest
from flask import render_template

import pasdienst.web
from pasdienst.web.assets import LONG_CACHE, asset_url
from tests.scanpage import measure

STATIC = Path(pasdienst.web.__file__).parent / "static"
VENDOR = STATIC / "vendor" / "barcode-detector"


def test_asset_url_carries_the_content_hash(app):
    with app.test_request_context():
        url = asset_url("merchant/scan.js")
    digest = hashlib.sha256((STATIC / "merchant" / "scan.js").read_bytes()).hexdigest()[:12]
    assert url == f"/static/merchant/scan.js?v={digest}"


def test_asset_url_refuses_a_file_that_does_not_exist(app):
    with app.test_request_context(), pytest.raises(FileNotFoundError):
        asset_url("merchant/nothing.js")
    with app.test_request_context(), pytest.raises(FileNotFoundError):
        asset_url("../templates/base.html")


def test_a_static_file_asked_for_with_its_hash_is_cached_for_a_year(app, client):
    with app.test_request_context():
        url = asset_url("merchant/scan.css")
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == LONG_CACHE == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("query", ["", "?v=000000000000"])
def test_a_static_file_without_its_current_hash_is_revalidated(client, query):
    # An old page may still link an old hash: that URL must not pin new content for a year.
    response = client.get(f"/static/merchant/scan.css{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_decoder_wasm_is_served_as_wasm_and_gzipped_when_the_browser_accepts_it(app, client):
    with app.test_request_context():
        url = asset_url("vendor/barcode-detector/zxing_reader.wasm")
    original = (VENDOR / "zxing_reader.wasm").read_bytes()

    zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.mimetype == "application/wasm"
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == original
    assert len(zipped.get_data()) < len(original) / 2

    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == original


def test_a_gzipped_file_is_revalidated_with_its_own_etag(client):
    first = client.get("/static/merchant/scan.js", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    assert etag.endswith('-gz"')
    again = client.get("/static/merchant/scan.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304


def test_the_vendored_files_are_the_ones_versions_txt_lists():
    listed = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", (VENDOR / "VERSIONS.txt").read_text(), re.M)
    )
    on_disk = {p.name for p in VENDOR.iterdir() if p.name not in ("VERSIONS.txt", "LICENSE.zxing-cpp")}
    assert on_disk <= set(listed)
    for name in on_disk:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == listed[name], name


def test_the_ponyfill_is_served_the_exact_wasm_it_was_built_against():
    # A wasm of another zxing-wasm version crashes the decoder at run time
    # ("memory access out of bounds"), so the pair is checked here.
    ponyfill = (VENDOR / "ponyfill.js").read_text()
    wasm_sha = hashlib.sha256((VENDOR / "zxing_reader.wasm").read_bytes()).hexdigest()
    assert f"`{wasm_sha}`" in ponyfill
    assert "zxing-wasm@3.1.3" in ponyfill


def test_the_scan_page_has_no_inline_script_or_style_and_carries_the_csrf_token(app):
    with app.test_request_context("/merchant"):
        html = render_template("merchant/scan.html", merchant_name="Fietsenmaker <Test>", csrf_token=lambda: "tok-123")
    assert '<meta name="csrf-token" content="tok-123">' in html
    assert "Fietsenmaker &lt;Test&gt;" in html
    # Every script is a file; the one data block (the refusals' Dutch, JSON) is never run.
    assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", html)
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert not re.search(r"https?://", html)  # no CDN, nothing off-site
    assert re.search(r'<script type="module" src="/static/merchant/scan\.js\?v=[0-9a-f]{12}">', html)


def test_the_scan_page_stays_within_100_kb_gzipped():
    figures = measure()
    own = sum(item.gz for item in figures["own"])
    assert {item.name for item in figures["own"]} >= {"merchant/scan.js", "merchant/detector.js", "merchant/scan.css"}
    assert own <= 100_000

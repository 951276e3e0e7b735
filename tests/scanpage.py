"""What a merchant's phone downloads for the scan page: the files, raw and gzipped.

The page's own HTML, CSS and JavaScript must stay within 100 KB gzipped
(issue 4): ``tests/test_scan_assets.py`` holds it to that, and
``python -m scripts.bench_scanpage`` prints the figures.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, render_template

from pasdienst import web
from pasdienst.web import assets, dutch

WEB = Path(web.__file__).resolve().parent
STATIC = WEB / "static"
BUDGET_BYTES = 100 * 1000  # 100 KB, counted in decimal kilobytes to stay on the safe side
OWN_CSS = ["pasdienst.css", "merchant/scan.css"]
OWN_JS = ["merchant/scan.js", "merchant/detector.js"]
#: Fetched with the page too (every page links it).
OWN_OTHER = ["favicon.svg"]
DECODER = ["vendor/barcode-detector/ponyfill.js", "vendor/barcode-detector/zxing_reader.wasm"]
SLOW_3G_BYTES_PER_S = 400_000 / 8  # Chrome DevTools "Slow 3G": 400 kbit/s down, 400 ms RTT


@dataclass(frozen=True)
class Item:
    name: str
    raw: int
    gz: int


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def scan_app() -> Flask:
    # A bare app with the real templates and static files: the figures must
    # not depend on a database or on the rest of the application.
    app = Flask("bench_scanpage", static_folder=str(STATIC), template_folder=str(WEB / "templates"))
    assets.init_app(app)
    app.jinja_env.globals["till_messages"] = dutch.till_messages
    return app


def render_scan_page(app: Flask | None = None) -> bytes:
    app = app or scan_app()
    with app.test_request_context("/merchant"):
        html = render_template("merchant/scan.html", merchant_name="Sportwinkel De Bal", csrf_token=lambda: "x" * 91)
    return html.encode()


def measure() -> dict[str, list[Item]]:
    own = [Item("merchant/scan.html (rendered)", len(html := render_scan_page()), _gz(html))]
    for name in OWN_CSS + OWN_JS + OWN_OTHER:
        data = (STATIC / name).read_bytes()
        own.append(Item(name, len(data), _gz(data)))
    decoder = []
    for name in DECODER:
        data = (STATIC / name).read_bytes()
        decoder.append(Item(name, len(data), _gz(data)))
    return {"own": own, "decoder": decoder}

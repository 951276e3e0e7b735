#!/usr/bin/env python
"""What a merchant's phone downloads for the scan page, raw and gzipped.

    .venv/bin/python scripts/bench_scanpage.py [--browser]

The page's own HTML, CSS and JavaScript must stay within 100 KB gzipped
(issue 4). The vendored decoder (ponyfill + WebAssembly) is listed apart: a
browser with a native BarcodeDetector never fetches it. The script also asks
the app (test client) for the headers the static files are served with.

``--browser`` also times, in headless Chromium with a fake camera showing a
pass QR (the harness of tests/browser), how long the decoder takes from
opening the page to the decoded text, with a cold and a warm cache, and the
scan page from opening to the confirm screen.
"""
from __future__ import annotations

import gzip
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask, render_template  # noqa: E402

from pasdienst.web import assets, dutch  # noqa: E402

WEB = ROOT / "pasdienst" / "web"
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


def _app() -> Flask:
    # A bare app with the real templates and static files: the figures must
    # not depend on a database or on the rest of the application.
    app = Flask("bench_scanpage", static_folder=str(STATIC), template_folder=str(WEB / "templates"))
    assets.init_app(app)
    app.jinja_env.globals["till_messages"] = dutch.till_messages
    return app


def render_scan_page(app: Flask | None = None) -> bytes:
    app = app or _app()
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


def served_headers() -> list[tuple[str, str, str, str]]:
    app = _app()
    client = app.test_client()
    rows = []
    with app.test_request_context():
        urls = [assets.asset_url(name) for name in OWN_CSS + OWN_JS + DECODER]
    for url in urls:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        rows.append((url, response.headers.get("Content-Type", ""), response.headers.get("Cache-Control", ""), response.headers.get("Content-Encoding", "-")))
        response.close()
    return rows


def browser_timings(runs: int = 5) -> dict[str, list[float]]:
    import tempfile
    import time

    from playwright.sync_api import expect, sync_playwright

    from tests.browser.harness import QR_PAYLOAD, FakeTill, make_app
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, FAKE_CAMERA_ARGS, PHONE, qr_video, serving

    timings: dict[str, list[float]] = {"decoded, cold cache": [], "decoded, warm cache": [], "scan page to confirm screen": []}
    with tempfile.TemporaryDirectory() as tmp, serving(make_app(FakeTill())) as base, sync_playwright() as driver:
        video = qr_video(QR_PAYLOAD, Path(tmp) / "pass.y4m")
        args = CHROMIUM_ARGS + FAKE_CAMERA_ARGS + [f"--use-file-for-fake-video-capture={video}"]
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        for _ in range(runs):
            context = browser.new_context(**PHONE)
            page = context.new_page()
            for label, action, done in (
                ("decoded, cold cache", lambda: page.goto(f"{base}/harness/decode"), ("#out", QR_PAYLOAD)),
                ("decoded, warm cache", page.reload, ("#out", QR_PAYLOAD)),
                ("scan page to confirm screen", lambda: page.goto(f"{base}/merchant"), ("#holder-name", "Sanne")),
            ):
                start = time.perf_counter()
                action()
                expect(page.locator(done[0])).to_have_text(done[1], timeout=15_000)
                timings[label].append(time.perf_counter() - start)
            context.close()
        browser.close()
    return timings


def _kb(n: int) -> str:
    return f"{n / 1000:8.1f} KB"


def main() -> int:
    figures = measure()
    print(f"{'file':48} {'raw':>11} {'gzip':>11}")
    own_raw = own_gz = 0
    for item in figures["own"]:
        own_raw, own_gz = own_raw + item.raw, own_gz + item.gz
        print(f"{item.name:48} {_kb(item.raw)} {_kb(item.gz)}")
    print(f"{'scan page total (HTML + CSS + JS + icon)':48} {_kb(own_raw)} {_kb(own_gz)}   budget {BUDGET_BYTES / 1000:.0f} KB gzip: {'OK' if own_gz <= BUDGET_BYTES else 'OVER'} ({own_gz / BUDGET_BYTES:.0%})")
    print()
    print("decoder, fetched only without a native BarcodeDetector:")
    dec_raw = dec_gz = 0
    for item in figures["decoder"]:
        dec_raw, dec_gz = dec_raw + item.raw, dec_gz + item.gz
        print(f"{item.name:48} {_kb(item.raw)} {_kb(item.gz)}")
    print(f"{'decoder total':48} {_kb(dec_raw)} {_kb(dec_gz)}")
    print()
    print(f"first visit on Slow 3G (400 kbit/s), transfer time only: native detector {own_gz / SLOW_3G_BYTES_PER_S:.1f} s, "
          f"with decoder {(own_gz + dec_gz) / SLOW_3G_BYTES_PER_S:.1f} s; later visits: 0 bytes for static files (immutable cache)")
    print()
    print("served as (GET with ?v=<hash>, Accept-Encoding: gzip):")
    for url, ctype, cache, encoding in served_headers():
        print(f"  {url}\n      {ctype}; Cache-Control: {cache}; Content-Encoding: {encoding}")
    if "--browser" in sys.argv[1:]:
        print()
        print("headless Chromium, fake camera showing a pass QR, 127.0.0.1 (no network latency), 5 runs:")
        for label, values in browser_timings().items():
            values.sort()
            print(f"  {label:32} median {values[len(values) // 2] * 1000:4.0f} ms (min {values[0] * 1000:.0f}, max {values[-1] * 1000:.0f})")
    return 0 if own_gz <= BUDGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())

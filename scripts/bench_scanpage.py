#!/usr/bin/env python
"""What a merchant's phone downloads for the scan page, raw and gzipped.

    .venv/bin/python -m scripts.bench_scanpage [--browser]

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

import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from pasdienst.web import assets
from tests.browser.harness import QR_PAYLOAD, FakeTill, make_app
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, FAKE_CAMERA_ARGS, PHONE, qr_video, serving
from tests.scanpage import BUDGET_BYTES, DECODER, OWN_CSS, OWN_JS, SLOW_3G_BYTES_PER_S, measure, scan_app


def served_headers() -> list[tuple[str, str, str, str]]:
    app = scan_app()
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

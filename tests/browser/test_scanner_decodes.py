"""The vendored decoder reads a pass QR from a camera, offline, under the strict CSP.

Linux Chromium has no native BarcodeDetector, so this exercises exactly the
path of an iPhone: the barcode-detector ponyfill, its ZXing WebAssembly
served by us, compiled under ``script-src 'self' 'wasm-unsafe-eval'``.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import QR_PAYLOAD, make_app
from .helpers import phone_page, qr_video

pytestmark = pytest.mark.browser


def test_the_vendored_decoder_reads_a_pass_qr_from_the_fake_camera(serve, launch_browser, tmp_path):
    base = serve(make_app())
    page = phone_page(launch_browser(qr_video(QR_PAYLOAD, tmp_path / "pass.y4m")))
    requests: list[str] = []
    wasm_types: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: wasm_types.append(r.headers.get("content-type", "")) if r.url.split("?")[0].endswith(".wasm") else None)

    page.goto(f"{base}/decode")

    expect(page.locator("#out")).to_have_text(QR_PAYLOAD, timeout=15_000)
    expect(page.locator("#kind")).to_have_text("polyfill")
    expect(page.locator("#error")).to_have_text("")
    # Everything, the wasm included, came from our own server: no CDN.
    assert requests and all(url.startswith(base + "/") for url in requests), requests
    assert wasm_types == ["application/wasm"]

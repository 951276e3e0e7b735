"""The vendored decoder reads a pass QR from a camera, offline, under the strict CSP.

Linux Chromium has no native BarcodeDetector, so this exercises exactly the
path of an iPhone: the barcode-detector ponyfill, its ZXing WebAssembly
served by us, compiled under ``script-src 'self' 'wasm-unsafe-eval'``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .harness import QR_PAYLOAD, harness_blueprint, make_app
from .helpers import phone_page, qr_video

pytestmark = pytest.mark.browser


def _decode_on(base: str, browser: Any) -> dict[str, Any]:
    """Open the harness page; wait for the decoded text; report what was fetched."""
    page = phone_page(browser)
    seen: dict[str, Any] = {"requests": [], "wasm_types": [], "page_csp": None}
    page.on("request", lambda r: seen["requests"].append(r.url))

    def on_response(response: Any) -> None:
        path = response.url.split("?")[0]
        if path.endswith(".wasm"):
            seen["wasm_types"].append(response.headers.get("content-type", ""))
        if path.endswith("/harness/decode"):
            seen["page_csp"] = response.headers.get("content-security-policy")

    page.on("response", on_response)
    page.goto(f"{base}/harness/decode")

    expect(page.locator("#out")).to_have_text(QR_PAYLOAD, timeout=15_000)
    expect(page.locator("#kind")).to_have_text("polyfill")
    expect(page.locator("#error")).to_have_text("")
    return seen


def test_the_vendored_decoder_reads_a_pass_qr_from_the_fake_camera(serve, launch_browser, tmp_path: Path):
    base = serve(make_app())
    seen = _decode_on(base, launch_browser(qr_video(QR_PAYLOAD, tmp_path / "pass.y4m")))

    # Everything, the wasm included, came from our own server: no CDN.
    assert seen["requests"] and all(url.startswith(base + "/") for url in seen["requests"]), seen["requests"]
    assert seen["wasm_types"] == ["application/wasm"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in seen["page_csp"]


def test_the_decoder_also_runs_under_the_apps_own_security_headers(live_app, request, launch_browser, tmp_path: Path):
    # The page's headers come from the real app here (pasdienst.web.security),
    # not from the harness: the production policy must let the decoder work.
    live_app.register_blueprint(harness_blueprint(set_policy=False))
    server = request.getfixturevalue("live_server")

    seen = _decode_on(server.url, launch_browser(qr_video(QR_PAYLOAD, tmp_path / "pass.y4m")))

    assert seen["page_csp"] and "'unsafe-inline'" not in seen["page_csp"]
    assert all(url.startswith(server.url + "/") for url in seen["requests"])

"""Helpers for the browser tests (the fixtures are in conftest.py)."""
from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = Path(os.environ.get("PASDIENST_CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"

#: ECOSYSTEM §A11: what Debian's Chromium needs headless, as root, offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: A camera that needs no prompt and no hardware.
FAKE_CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]

#: A small Android phone.
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "nl-NL",
    "timezone_id": "Europe/Amsterdam",
    "permissions": ["camera"],
}


def qr_video(source: bytes | str, path: Path, *, frames: int = 10, width: int = 640, height: int = 480) -> Path:
    """Write a y4m video (Chromium's fake-camera format) showing one QR code.

    ``source`` is the text to encode, or PNG bytes of a QR image (e.g. the
    pass page's own QR). The picture is centred on white, and the frames are
    YCbCr 4:2:0 (``C420jpeg``), which Chromium loops for as long as the
    camera is open.
    """
    from PIL import Image

    if isinstance(source, bytes):
        image = Image.open(io.BytesIO(source)).convert("RGB")
        side = min(width, height) - 40
        image = image.resize((side, side), Image.Resampling.NEAREST)
    else:
        import qrcode

        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        qr.add_data(source)
        qr.make(fit=True)
        # Whole pixels per module keep the edges sharp for the decoder.
        qr.box_size = max(1, (min(width, height) - 40) // (qr.modules_count + 8))
        image = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return _write_y4m(canvas, path, frames)


def still_video(path: Path, *, colour: str = "#c8ccd0", width: int = 640, height: int = 480) -> Path:
    """A camera that sees a plain wall: nothing to decode, and every frame the
    same, so screenshots of the scan page do not change from run to run."""
    from PIL import Image

    return _write_y4m(Image.new("RGB", (width, height), colour), path, 2)


def _write_y4m(canvas: Any, path: Path, frames: int) -> Path:
    from PIL import Image

    width, height = canvas.size
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half, Image.Resampling.BOX).tobytes() + cr.resize(half, Image.Resampling.BOX).tobytes()
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # keep test output readable; failures show up in assertions


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free port of 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def phone_page(browser: Any) -> Any:
    """A page in a new phone-sized context of ``browser`` (closed with the browser)."""
    ctx = browser.new_context(**PHONE)
    ctx.set_default_timeout(10_000)
    return ctx.new_page()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path

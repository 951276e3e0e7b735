#!/usr/bin/env python
"""Draw the home-screen icons of the pass page from the favicon's shapes.

    .venv/bin/python -m scripts.make_pass_icons

Writes ``pasdienst/web/static/wallet/icon-192.png``, ``icon-512.png`` and
``icon-maskable-512.png`` (the web app manifest's icons, wallet/views.py).
Made here with Pillow rather than fetched: no icon service, no CDN. The
drawing is ``web/static/favicon.svg`` (a card with a QR corner and two lines,
in the pages' blue), so the home screen shows what the browser tab shows.
Run it again after changing the favicon; the output is the same every run.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "pasdienst" / "web" / "static" / "wallet"
BLUE = "#0b5fad"
WHITE = "#ffffff"
#: The pass page's background: the splash screen and the maskable icon's bleed.
BACKGROUND = "#eef2f6"
#: favicon.svg's shapes in its 32-unit box: (x, y, width, height, corner radius, colour).
SHAPES = [
    (1, 5, 30, 22, 4, BLUE),
    (5, 10, 10, 10, 1, WHITE),
    (7, 12, 3, 3, 0, BLUE),
    (11, 16, 2, 2, 0, BLUE),
    (18, 11, 9, 2.5, 1, WHITE),
    (18, 16, 6, 2.5, 1, WHITE),
]
SUPERSAMPLE = 4  # Pillow draws without anti-aliasing: draw large, scale down


def draw(size: int, *, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), BACKGROUND if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    # A maskable icon is cut to any shape down to a circle of 80 % of its width:
    # the card's corners stay inside it (its diagonal is 71 % of the width).
    unit = big * (0.66 if maskable else 1.0) / 32
    offset = (big - 32 * unit) / 2
    for x, y, w, h, r, colour in SHAPES:
        box = (offset + x * unit, offset + y * unit, offset + (x + w) * unit - 1, offset + (y + h) * unit - 1)
        pen.rounded_rectangle(box, radius=r * unit, fill=colour)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False), ("icon-maskable-512.png", 512, True)):
        path = OUT / name
        draw(size, maskable=maskable).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

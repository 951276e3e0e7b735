"""QR images of passes: rendered once, stored, served from the database.

``qrcode`` builds the matrix (error correction M, the smallest version that
fits: a realistic payload needs version 4 or 5, and the best of the eight
masks). Both images are drawn from that one matrix: the PNG with Pillow as
a 1-bit image scaled up by whole pixels, the SVG as one path of horizontal
runs (a quarter of the size of ``qrcode``'s own SVG, crisp at any scale). Drawing
them here rather than through ``qrcode``'s image factories builds the code
once instead of twice and saves a millisecond of per-module drawing.

Rendering takes a few milliseconds per pass, mostly ``qrcode`` choosing the
best mask, so a run over many passes is spread over a process pool (all
cores) after the issuing transaction has committed; the images are written
in batches of their own. The pass page renders and stores an image that is
still missing on first view, so nothing breaks if that phase was cut short.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..db import Database, insert_ignoring_conflicts
from . import tokens
from .models import ACTIVE, ChildPass, PassImage

BOX_SIZE = 10  # pixels per module in the PNG: a version-5 code is 450 px wide with its quiet zone
BORDER = 4  # the quiet zone the QR standard asks for, in modules
#: Below this many passes a process pool costs more than it saves.
POOL_THRESHOLD = 400
_TASK = 250
_STORE_BATCH = 1000


def matrix(payload: str) -> list[list[bool]]:
    """The modules of the payload's QR code, quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(payload)
    code.make(fit=True)  # the smallest version that fits, and the best of the 8 masks
    return code.get_matrix()


def png_of(modules: list[list[bool]]) -> bytes:
    """A 1-bit PNG, ``BOX_SIZE`` whole pixels a module (no blurry edges)."""
    size = len(modules)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in modules for dark in row])
    image = image.resize((size * BOX_SIZE, size * BOX_SIZE), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


#: A horizontal run of dark modules: ``(x, y, length)`` in modules, from the top left.
Run = tuple[int, int, int]


def runs(modules: list[list[bool]]) -> list[Run]:
    """The dark modules as horizontal runs, row by row, left to right."""
    found: list[Run] = []
    size = len(modules)
    for y, row in enumerate(modules):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            found.append((start, y, x - start))
    return found


def svg_of(modules: list[list[bool]]) -> str:
    """One stroked path: each run of dark modules in a row is a line one
    module thick, reached by a relative move (about 2 KB for version 5)."""
    size = len(modules)
    parts = []
    row, pen = -1, 0
    for start, y, length in runs(modules):
        parts.append(f"M{start} {y}.5h{length}" if y != row else f"m{start - pen} 0h{length}")
        row, pen = y, start + length
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" role="img" aria-label="QR-code">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="none" stroke="#000" stroke-width="1" d="{"".join(parts)}"/></svg>'
    )


_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) \1"')
_PATH = re.compile(r' d="((?:[Mm]\d+ \d+(?:\.5)?h\d+)*)"')
_STEP = re.compile(r"([Mm])(\d+) (\d+)(?:\.5)?h(\d+)")


def runs_of(svg: str) -> tuple[int, list[Run]] | None:
    """The size and the dark runs of an image :func:`svg_of` drew, read back
    from its path without rasterising (the letters draw them as rectangles);
    None for an SVG of another shape."""
    size = _VIEWBOX.search(svg)
    path = _PATH.search(svg)
    if size is None or path is None:
        return None
    found: list[Run] = []
    y = pen = 0
    for absolute, dx_or_x, y_or_zero, length in _STEP.findall(path.group(1)):
        x = int(dx_or_x) if absolute == "M" else pen + int(dx_or_x)
        if absolute == "M":
            y = int(y_or_zero)
        pen = x + int(length)
        found.append((x, y, int(length)))
    return int(size.group(1)), found


def render(payload: str) -> tuple[bytes, str]:
    """PNG bytes and SVG text of one payload."""
    modules = matrix(payload)
    return png_of(modules), svg_of(modules)


def _render_task(items: Sequence[tuple[int, str]]) -> list[tuple[int, bytes, str]]:
    return [(pass_id, *render(payload)) for pass_id, payload in items]


def render_all(items: Sequence[tuple[int, str]], *, workers: int | None = None) -> Iterator[list[tuple[int, bytes, str]]]:
    """Rendered images in batches, over a process pool when there are many."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(items) < POOL_THRESHOLD:
        for start in range(0, len(items), _TASK):
            yield _render_task(items[start : start + _TASK])
        return
    tasks = [items[start : start + _TASK] for start in range(0, len(items), _TASK)]
    # spawn, not fork: a forked child would share the parent's database
    # connections, and the workers need nothing but qrcode and Pillow.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_render_task, tasks)


def store_images(session: Session, rendered: Iterable[tuple[int, bytes, str]]) -> None:
    """Store images; one already stored (a page view got there first) stays."""
    rows = [{"pass_id": pid, "png": png, "svg": svg} for pid, png, svg in rendered]
    if not rows:
        return
    table = PassImage.__table__
    session.execute(insert_ignoring_conflicts(session, table, index_elements=["pass_id"]), rows)


def missing_images(session: Session, *, pass_ids: Sequence[int] | None = None, municipality_id: int | None = None) -> list[tuple[int, str]]:
    """``(pass id, handle)`` of active passes that have no stored image yet
    (a blocked or replaced pass never shows its QR code again)."""
    query = (
        select(ChildPass.id, ChildPass.handle)
        .outerjoin(PassImage, PassImage.pass_id == ChildPass.id)
        .where(PassImage.pass_id.is_(None), ChildPass.status == ACTIVE)
        .order_by(ChildPass.id)
    )
    if municipality_id is not None:
        query = query.where(ChildPass.municipality_id == municipality_id)
    if pass_ids is None:
        return [(r[0], r[1]) for r in session.execute(query)]
    found: list[tuple[int, str]] = []
    ids = list(pass_ids)
    for start in range(0, len(ids), 5000):
        chunk = query.where(ChildPass.id.in_(ids[start : start + 5000]))
        found.extend((r[0], r[1]) for r in session.execute(chunk))
    return found


def render_missing(
    db: Database,
    settings: Settings,
    *,
    pass_ids: Sequence[int] | None = None,
    municipality_id: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Render and store every missing image (of ``pass_ids``, or all); the count.

    A batch job after the issuing transaction: it reads, renders outside any
    transaction, and writes batches in transactions of their own.
    """
    with db.read() as session:
        todo = missing_images(session, pass_ids=pass_ids, municipality_id=municipality_id)
    items = [(pid, tokens.payload_for(settings, handle)) for pid, handle in todo]
    done = 0
    pending: list[tuple[int, bytes, str]] = []
    for batch in render_all(items, workers=workers):
        pending.extend(batch)
        done += len(batch)
        if len(pending) >= _STORE_BATCH:
            with db.transaction() as session:
                store_images(session, pending)
            pending = []
        if progress:
            progress(done, len(items))
    if pending:
        with db.transaction() as session:
            store_images(session, pending)
    return len(items)


def image_of(session: Session, child_pass: ChildPass, settings: Settings, *, create: bool = False) -> PassImage | None:
    """The stored image of a pass; with ``create``, rendered and stored when missing."""
    image = session.get(PassImage, child_pass.id)
    if image is None and create:
        png, svg = render(tokens.payload_for(settings, child_pass.handle))
        store_images(session, [(child_pass.id, png, svg)])
        image = session.get(PassImage, child_pass.id)
    return image

"""Charts drawn on the server as plain SVG: no script, no chart library, no CDN.

Each chart is one ``<svg role="img">`` labelled by its own ``<title>`` and
``<desc>``; the page shows the same numbers in a table right below it, so a
screen reader (or a printout) misses nothing. Colours and fonts are SVG
presentation attributes (``fill``, ``font-size``), never ``style``
attributes: the page runs under a CSP without ``'unsafe-inline'`` styles.
The colours are from the Okabe–Ito palette, told apart with colour blindness
too, and every bar also carries its value as text.

Everything that comes from data (a merchant's name) is escaped; the result
is ``Markup`` for Jinja.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
INK = "#1b1f23"
MUTED = "#57606a"
GRID = "#d0d7de"
BAR = "#0072b2"
#: Okabe–Ito: blue, sky blue, vermillion, orange, bluish green.
SERIES = ("#0072b2", "#56b4e9", "#d55e00", "#e69f00", "#009e73")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


@dataclass(frozen=True)
class Bar:
    label: str
    #: None: the value is hidden (fewer than five children); no bar is drawn.
    value: float | None
    #: The value as the reader sees it, next to the bar ("57 %", "<5").
    text: str


@dataclass(frozen=True)
class Segment:
    name: str
    colour: str


def _n(x: float) -> str:
    """A coordinate: at most one decimal, no trailing zeros."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" width="{WIDTH}" height="{_n(height)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" {FONT} font-size="13" fill="{INK}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def nice_ticks(maximum: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum`` (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    if whole and raw < 1:
        step = 1.0
    else:
        # Counts step in whole numbers: 2.5 only from 25 upwards.
        step = next(
            m * magnitude
            for m in (1, 2, 2.5, 5, 10)
            if m * magnitude >= raw and not (whole and (m * magnitude) % 1)
        )
    top = math.ceil(maximum / step - 1e-9) * step
    return [i * step for i in range(int(round(top / step)) + 1)]


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    *,
    maximum: float | None = None,
    ticks: Sequence[tuple[float, str]] = (),
    colour: str = BAR,
    label_width: int = 180,
) -> Markup:
    """Horizontal bars, one row each, labels on the left, values on the right.

    ``ticks`` are vertical guide lines with their label under the chart (for
    shares: 25, 50 and 75 %, the bands' edges).
    """
    row, top = 30, 6
    plot_x, plot_w = label_width, WIDTH - label_width - 96
    axis_h = 22 if ticks else 0
    height = top + row * max(len(bars), 1) + axis_h + 4
    top_value = maximum or max((b.value or 0 for b in bars), default=0) or 1
    scale = plot_w / top_value
    body: list[str] = []
    bottom = top + row * len(bars)
    for value, label in ticks:
        x = plot_x + value * scale
        body.append(
            f'<line x1="{_n(x)}" y1="{top}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="{GRID}" stroke-dasharray="3 3"/>'
            f'<text x="{_n(x)}" y="{_n(bottom + 16)}" text-anchor="middle" fill="{MUTED}" font-size="11">{escape(label)}</text>'
        )
    body.append(f'<line x1="{plot_x}" y1="{top}" x2="{plot_x}" y2="{_n(bottom)}" stroke="{MUTED}"/>')
    for i, bar in enumerate(bars):
        y = top + i * row
        middle = y + row / 2 + 4
        body.append(
            f'<text x="{plot_x - 8}" y="{_n(middle)}" text-anchor="end"><title>{escape(bar.label)}</title>'
            f"{escape(_short(bar.label, label_width // 7))}</text>"
        )
        if bar.value is None:
            body.append(f'<text x="{plot_x + 6}" y="{_n(middle)}" fill="{MUTED}">{escape(bar.text)}</text>')
            continue
        w = bar.value * scale
        if bar.value > 0:
            w = max(w, 1.5)
        body.append(
            f'<rect x="{plot_x}" y="{_n(y + 7)}" width="{_n(w)}" height="{row - 14}" fill="{colour}">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
            f'<text x="{_n(plot_x + w + 6)}" y="{_n(middle)}">{escape(bar.text)}</text>'
        )
    return _svg(chart_id, height, title, desc, body)


def stacked_bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[float], str]],
    segments: Sequence[Segment],
    *,
    value_text: Callable[[float], str],
    label_width: int = 150,
) -> Markup:
    """One horizontal bar per row, split into ``segments``; ``rows`` are
    ``(label, segment values, text after the bar)``. A legend sits on top."""
    row, legend_h = 34, 26
    plot_x, plot_w = label_width, WIDTH - label_width - 120
    height = legend_h + row * max(len(rows), 1) + 6
    maximum = max((sum(values) for _, values, _ in rows), default=0) or 1
    scale = plot_w / maximum
    body: list[str] = []
    x = 0.0
    for seg in segments:
        body.append(
            f'<rect x="{_n(x)}" y="4" width="12" height="12" fill="{seg.colour}"/>'
            f'<text x="{_n(x + 17)}" y="14.5">{escape(seg.name)}</text>'
        )
        x += 17 + 7.5 * len(seg.name) + 22
    for i, (label, values, after) in enumerate(rows):
        y = legend_h + i * row
        middle = y + row / 2 + 4
        body.append(
            f'<text x="{plot_x - 8}" y="{_n(middle)}" text-anchor="end"><title>{escape(label)}</title>'
            f"{escape(_short(label, label_width // 7))}</text>"
        )
        x = float(plot_x)
        for seg, value in zip(segments, values, strict=True):
            if value <= 0:
                continue
            w = max(value * scale, 1.5)
            body.append(
                f'<rect x="{_n(x)}" y="{_n(y + 8)}" width="{_n(w)}" height="{row - 16}" fill="{seg.colour}">'
                f"<title>{escape(label)}, {escape(seg.name.lower())}: {escape(value_text(value))}</title></rect>"
            )
            x += w
        body.append(f'<text x="{_n(x + 6)}" y="{_n(middle)}">{escape(after)}</text>')
    return _svg(chart_id, height, title, desc, body)


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[str, float]],
    *,
    value_text: Callable[[float], str],
    spans: Sequence[tuple[int, int, str]] = (),
    whole: bool = True,
    axis_labels: Sequence[str] | None = None,
    maximum: float | None = None,
) -> Markup:
    """A line through ``points`` (x labels, values) with a y axis from 0.

    ``spans`` shade ranges of points (first index, last index, label), e.g.
    the start of the school year and December. ``axis_labels`` (one per
    point, empty for none) replace the point labels under the axis when there
    are too many points to name each (weeks); the points keep their own
    label in their tooltip. ``maximum`` fixes the top of the axis (100 for
    a percentage).
    """
    left, right, top, bottom = 56, 16, 26, 30
    height = 280
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    n = max(len(points), 1)
    step = plot_w / n
    ticks = nice_ticks(maximum if maximum is not None else max((v for _, v in points), default=0), whole=whole)
    scale = plot_h / ticks[-1]
    body: list[str] = []
    for first, last, label in spans:
        if 0 <= first <= last < len(points):
            x = left + first * step
            body.append(
                f'<rect x="{_n(x)}" y="{top}" width="{_n((last - first + 1) * step)}" height="{plot_h}" fill="#fdf1d8"/>'
                f'<text x="{_n(x + (last - first + 1) * step / 2)}" y="{top - 8}" text-anchor="middle" '
                f'fill="{MUTED}" font-size="11">{escape(label)}</text>'
            )
    for t in ticks:
        y = top + plot_h - t * scale
        body.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{WIDTH - right}" y2="{_n(y)}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}" font-size="11">{escape(value_text(t))}</text>'
        )
    coords = []
    for i, (label, value) in enumerate(points):
        x = left + (i + 0.5) * step
        y = top + plot_h - value * scale
        coords.append((x, y, label, value))
        shown = label if axis_labels is None else axis_labels[i]
        if shown:
            body.append(
                f'<text x="{_n(x)}" y="{height - 10}" text-anchor="middle" fill="{MUTED}" font-size="11">{escape(shown)}</text>'
            )
    if coords:
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y, _, _ in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{BAR}" stroke-width="2.5" stroke-linejoin="round"/>')
    radius = 4 if len(coords) <= 24 else 2.5
    for x, y, label, value in coords:
        body.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{radius}" fill="{BAR}"><title>{escape(label)}: {escape(value_text(value))}</title></circle>'
        )
    return _svg(chart_id, height, title, desc, body)

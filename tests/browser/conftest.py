"""Browser tests: Debian's Chromium, headless, driven by the PyPI playwright package.

No ``playwright install`` (it downloads a browser build, which this project
cannot): ``executable_path`` points at ``/usr/bin/chromium``, which
``./scripts/test`` installs with apt-get when it is missing
(``scripts/lib/chromium.sh``). ``PASDIENST_CHROMIUM`` overrides the path.

Fixtures
* ``live_server`` – the real app (``create_app(settings, db=db)``) on a free
  port of 127.0.0.1 (a secure context, so the camera works over http).
* ``serve`` – the same for any WSGI app, e.g. the test harness.
* ``launch_browser(video=None)`` – a headless Chromium with a fake camera. The
  camera's picture is a launch flag, so a test that scans launches its own
  browser with ``qr_video(...)`` (about 0.2 s).
* ``browser`` / ``context`` / ``page`` – a 360 × 740 phone with the camera
  allowed; the fake camera shows Chromium's test pattern.

* ``fixed_clock`` – every "now" of the app (``pasdienst.clock``) at a moment
  the test sets with ``fixed_clock.set(...)``; with ``receipt_numbers`` it
  keeps the times and receipt numbers in screenshots the same on every run.

Helpers (``tests.browser.helpers``): ``qr_video(text_or_png, path)`` writes a
y4m video of a QR code for the fake camera; ``phone_page(browser)`` and
``screenshot(page, name)`` (into docs/screenshots/).

With a strict CSP, ``page.evaluate`` and ``wait_for_function`` fail (they
need eval): use locators, ``expect`` and ``get_attribute`` instead.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import pytest

from .helpers import CHROMIUM, CHROMIUM_ARGS, FAKE_CAMERA_ARGS, PHONE, serving


@dataclass
class LiveServer:
    url: str
    app: Any


@pytest.fixture
def live_app(settings, db):
    """The real app on the test's database; register extra test routes here before ``live_server`` starts."""
    from pasdienst.web.app import create_app

    return create_app(settings, db=db)


@pytest.fixture
def live_server(live_app) -> Iterator[LiveServer]:
    with serving(live_app) as url:
        yield LiveServer(url, live_app)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``serve(app)`` → base URL; stopped when the test ends."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serving(app))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: run ./scripts/test (it installs Debian's chromium) "
            "or set PASDIENST_CHROMIUM",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch_browser(playwright) -> Iterator[Callable[..., Any]]:
    """``launch_browser(video=None, camera=True)``: a fresh headless Chromium.

    ``video`` is a y4m file (``qr_video``) that the fake camera shows.
    """
    browsers: list[Any] = []

    def launch(video: Path | None = None, *, camera: bool = True) -> Any:
        args = list(CHROMIUM_ARGS)
        if camera:
            args += FAKE_CAMERA_ARGS
        if video is not None:
            args.append(f"--use-file-for-fake-video-capture={Path(video).resolve()}")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


@pytest.fixture
def browser(launch_browser):
    return launch_browser()


@pytest.fixture
def context(browser) -> Iterator[Any]:
    ctx = browser.new_context(**PHONE)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


class FixedClock:
    """The instant ``pasdienst.clock`` reports as now; it moves only when the test moves it."""

    def __init__(self, moment: datetime) -> None:
        self.set(moment)

    def set(self, moment: datetime) -> None:
        assert moment.tzinfo is not None, "an aware moment, e.g. in AMSTERDAM"
        self.moment = moment


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    """Freeze the app's clock (all of its "now" and "today" go through ``pasdienst.clock``).

    Starts at 09:00 in Amsterdam on 15 March 2027, the ``TODAY`` of the
    redeem tests' world. The live server runs in this process, so it sees
    the same clock; only ``pasdienst.clock`` is changed, not ``datetime``
    itself, so Chromium, Playwright and the test's own timing are untouched.
    """
    from pasdienst import clock

    frozen = FixedClock(datetime(2027, 3, 15, 9, 0, tzinfo=clock.AMSTERDAM))

    class _Datetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return frozen.moment.astimezone(tz) if tz is not None else frozen.moment.astimezone().replace(tzinfo=None)

    monkeypatch.setattr(clock, "datetime", _Datetime)
    return frozen


@pytest.fixture
def receipt_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Predictable receipt numbers, for screenshots that stay the same."""
    from pasdienst.redeem import redemptions

    numbers = (f"7K2M-{n:04d}" for n in itertools.count(1))
    monkeypatch.setattr(redemptions, "_receipt_no", lambda: next(numbers))

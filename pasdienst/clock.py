"""What "today" and "now" are, in Europe/Amsterdam.

Services take ``today`` as an argument; this module is only where the CLI and
the web layer get it from, honouring ``PASDIENST_TODAY`` for tests and demos.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def today(override: date | None = None) -> date:
    if override is not None:
        return override
    return datetime.now(AMSTERDAM).date()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def now(override: date | None = None) -> datetime:
    """The current instant, moved onto ``override``'s date when one is set.

    Keeping the wall-clock time of day makes receipts and "today's
    redemptions" still read naturally in a replay with PASDIENST_TODAY.
    """
    current = datetime.now(AMSTERDAM)
    if override is None:
        return current.astimezone(timezone.utc)
    moved = datetime.combine(override, current.timetz())
    return moved.astimezone(timezone.utc)


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which an Amsterdam calendar day starts and ends."""
    start = datetime.combine(day, time.min, AMSTERDAM)
    end = datetime.combine(date.fromordinal(day.toordinal() + 1), time.min, AMSTERDAM)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def local_date(moment: datetime) -> date:
    """The Amsterdam calendar day of an instant (a naive one, as SQLite returns it, is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(AMSTERDAM).date()

"""Numbers and dates typed into the pages' forms and filters, read strictly.

``str.isdigit`` is true for ``²`` and ``١٢``, ``int()`` reads Arabic-Indic
digits and refuses more than 4,300 digits with a ``ValueError``, and a date
in year 1 or 9999 overflows as soon as it is moved to another time zone or a
day is added. So a page takes ASCII digits only, a bounded number of them,
and dates of the years pasdienst can have passes in. ``IdConverter`` does
the same for the ``<int:…>`` parts of every address.
"""
from __future__ import annotations

import re
from datetime import date

from werkzeug.routing import IntegerConverter, Map

from .validators import MAX_BIG_ID

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The years a scheme, a pass, a report or a filter can be about.
YEAR_MIN, YEAR_MAX = 2000, 2100


def whole_number(raw: str | None, *, low: int, high: int) -> int | None:
    """``raw`` as an int in [low, high] if it is written in ASCII digits, else None."""
    text = (raw or "").strip()
    if not text or len(text) > len(str(high)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def day(raw: str | None) -> date | None:
    """A ``YYYY-MM-DD`` (ASCII digits) of a real day in YEAR_MIN..YEAR_MAX, else None."""
    text = (raw or "").strip()
    if _ISO_DAY.fullmatch(text) is None:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if YEAR_MIN <= value.year <= YEAR_MAX else None


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits, at most the largest BIGINT.

    Werkzeug's own takes any number of digits of any script, and an id
    beyond 64 bits overflows the database driver (a 500) instead of being
    an address that does not exist (a 404).
    """

    regex = r"[0-9]{1,19}"

    def __init__(
        self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_BIG_ID, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_BIG_ID if max is None else max, signed=signed)

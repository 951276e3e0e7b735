"""The Dutch words a holder reads on the pass page and the letter.

They describe what a voucher is for and where it can be spent, the way a
gift card does, and never why a child has it: no income, no scheme name.
The names of categories, amounts and dates are the common ones of
``pasdienst/labels.py`` (re-exported here for the wallet's pages and letter).
"""
from __future__ import annotations

from ..labels import CATEGORY_TITLES, euros, long_date
from .models import BUDGET, CHEQUE, PUNCHCARD

__all__ = ["CATEGORY_TITLES", "WHERE_TO_SPEND", "euros", "long_date", "place_name", "voucher_title", "where_text"]

#: Which kinds of places take a voucher of each category.
WHERE_TO_SPEND = {
    "sport_culture": "sportclubs, zwembaden en muziek-, dans- en theaterlessen",
    "school": "schoolspullen, schoolreisjes en de ouderbijdrage van school",
    "transport": "fietsenwinkels en het openbaar vervoer",
    "clothing": "kleding- en schoenenwinkels",
    "digital": "computerwinkels, voor een laptop of tablet",
    "other": "winkels en organisaties die meedoen",
}


def _pretty(code: str) -> str:
    return code.replace("_", " ").replace("-", " ").capitalize()


def voucher_title(kind: str, category: str, code: str | None) -> str:
    if kind == BUDGET:
        return f"Tegoed {CATEGORY_TITLES[category].lower()}" if category != "other" else "Tegoed"
    if kind == PUNCHCARD:
        return f"Strippenkaart {_pretty(code or category).lower()}"
    if kind == CHEQUE:
        return _pretty(code or "cheque")
    return _pretty(kind)


#: A letter names the merchants that take a voucher up to this many; beyond it, a few and a count.
NAMED_ON_LETTER = 3


def place_name(name: str, place: str | None) -> str:
    """``Zwembad De Golf (Gorredijk)``."""
    return f"{name} ({place})" if place else name


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} en {items[-1]}"


def where_text(category: str, bound: bool, places: list[tuple[str, str | None]]) -> str:
    """Where a voucher can be spent, in a line of the letter: the merchants
    that take it (``(name, place)``, as the till decides), or the kinds of
    places while none has joined yet. A voucher bound to named merchants says
    "alleen bij" them: a punch card of one pool is not for every sports club."""
    names = [place_name(name, place) for name, place in places]
    if bound:
        return f"alleen bij {_and(names)}" if names else "nu nog bij geen aanbieder; vraag het de gemeente"
    if not names:
        return WHERE_TO_SPEND[category]
    if len(names) <= NAMED_ON_LETTER:
        return f"bij {_and(names)}"
    return (f"bij {len(names)} aanbieders, zoals {_and(names[:NAMED_ON_LETTER])}; "
            "alle adressen staan op de pagina van de pas")

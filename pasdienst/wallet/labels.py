"""The Dutch words a holder reads on the pass page and the letter.

They describe what a voucher is for and where it can be spent, the way a
gift card does, and never why a child has it: no income, no scheme name.
The names of categories, amounts and dates are the common ones of
``pasdienst/labels.py`` (re-exported here for the wallet's pages and letter).
"""
from __future__ import annotations

from ..labels import CATEGORY_TITLES, euros, long_date
from .models import BUDGET, CHEQUE, PUNCHCARD

__all__ = ["CATEGORY_TITLES", "WHERE_TO_SPEND", "euros", "long_date", "voucher_title"]

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

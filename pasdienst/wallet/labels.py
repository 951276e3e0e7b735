"""The Dutch words a holder reads on the pass page and the letter.

They describe what a voucher is for and where it can be spent, the way a
gift card does, and never why a child has it: no income, no scheme name.
"""
from __future__ import annotations

from datetime import date

from ..money import format_euros
from .models import BUDGET, CHEQUE, PUNCHCARD

CATEGORY_TITLES = {
    "sport_culture": "Sport en cultuur",
    "school": "School",
    "transport": "Vervoer",
    "clothing": "Kleding en schoenen",
    "digital": "Laptop of tablet",
    "other": "Overig",
}

#: Which kinds of places take a voucher of each category.
WHERE_TO_SPEND = {
    "sport_culture": "sportclubs, zwembaden en muziek-, dans- en theaterlessen",
    "school": "schoolspullen, schoolreisjes en de ouderbijdrage van school",
    "transport": "fietsenwinkels en het openbaar vervoer",
    "clothing": "kleding- en schoenenwinkels",
    "digital": "computerwinkels, voor een laptop of tablet",
    "other": "winkels en organisaties die meedoen",
}

_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)


def long_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def euros(cents: int) -> str:
    return format_euros(cents, dutch=True, symbol=True)


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

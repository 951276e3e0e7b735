"""Euro amounts as integer cents, parsed strictly.

People type amounts in Dutch (``12,50``) and in English (``12.50``); files and
the CLI want both decimals (``25000.00`` or ``25000,00``: ``strict``). What is never accepted: thousands separators
(``1.000,00`` is ambiguous), signs, more than two decimals, or anything that is
not a plain number. Only the digits 0-9 count: ``int()`` reads Arabic-Indic
``١٥٠`` or fullwidth ``１５０`` as 150, but nobody checking the amount on a
screen or a statement reads it so (``reason="other_digits"``, with its own
message). Parsing happens once at the edge; everything inside works in
``int`` cents.
"""
from __future__ import annotations

import re

from .errors import ValidationFailed

_AMOUNT = re.compile(r"([0-9]{1,9})(?:[.,]([0-9]{1,2}))?")
_STRICT_EURO = re.compile(r"([0-9]{1,9})[.,]([0-9]{2})")

#: ``InvalidAmount.details["reason"]`` for digits of another script.
OTHER_DIGITS = "other_digits"


class InvalidAmount(ValidationFailed):
    pass


def has_other_digits(text: str) -> bool:
    """Whether ``text`` holds a digit that is not one of 0-9 (``"١٥٠"``, ``"１５"``, ``"²"``)."""
    return any(ch.isdigit() and not "0" <= ch <= "9" for ch in text)


def parse_euros(text: str, *, strict: bool = False) -> int:
    """``"12,50"`` or ``"12.50"`` → ``1250``. ``strict`` demands two decimals (``"12.50"``, ``"12,50"``)."""
    raw = (text or "").strip()
    if has_other_digits(raw):
        raise InvalidAmount(f"{text!r} is not an amount: type it with the digits 0-9", reason=OTHER_DIGITS)
    match = (_STRICT_EURO if strict else _AMOUNT).fullmatch(raw)
    if not match:
        form = "euros with two decimals, e.g. 25000.00 or 25000,00" if strict else "an amount in euros, e.g. 12,50"
        raise InvalidAmount(f"{text!r} is not {form}")
    whole, frac = match.group(1), (match.group(2) or "")
    cents = int(whole) * 100 + int(frac.ljust(2, "0") or 0)
    return cents


def positive_cents(text: str, *, strict: bool = False) -> int:
    cents = parse_euros(text, strict=strict)
    if cents <= 0:
        raise InvalidAmount(f"{text!r} must be more than 0.00")
    return cents


def format_euros(cents: int) -> str:
    """``1234.50``: euros for the command line, files and English messages (pages use ``labels.euros``)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"

"""Short texts and web addresses that staff type in for families to read.

A merchant's town, what it offers and its site; a municipality's phone
number, e-mail address, web address and desk. They are shown on the pass
page and printed on the letters, so one rule for each, wherever they are
stored: whitespace collapsed, no control characters (PostgreSQL refuses NUL,
and a letter cannot print a tab), a length limit, and for a web address only
``http``/``https`` with a real host name (a ``javascript:`` link on the pass
page would run in the family's browser). A refusal names its code and the
field (``refusal``, ``details["field"]``); the pages say it in Dutch from the
catalogue, naming the field by ``labels.FIELD_TITLES``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import ValidationFailed
from .money import OTHER_DIGITS, InvalidAmount, parse_euros, positive_cents


class FieldRefused(ValidationFailed):
    """A typed value that cannot be stored: which field (``field``, also a parameter of the refusal)."""

    def __init__(self, field: str, message: str, *, refusal: str, **details: object) -> None:
        super().__init__(message, refusal=refusal, field=field, errors={field: [message]}, **details)
        self.field = field


def _control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def euros(value: str, *, field: str, positive: bool = True) -> int:
    """Cents from a euro amount a person typed (``2.500,00``, ``2500``); ``positive``: more than nothing.

    Refused as ``amount_other_digits`` (digits other than 0-9, which ``int`` would
    read) or ``amount_not_euros``, with what was typed (``text``).
    """
    try:
        return positive_cents(value) if positive else parse_euros(value)
    except InvalidAmount as exc:
        if exc.details.get("reason") == OTHER_DIGITS:
            raise FieldRefused(field, f"{field} {value!r} has digits other than 0-9", refusal="amount_other_digits",
                               text=value) from None
        raise FieldRefused(field, f"{field} {value!r} is not an amount in euros", refusal="amount_not_euros",
                           text=value) from None


def short_text(value: str | None, *, field: str, limit: int) -> str | None:
    """``value`` with its whitespace collapsed; None when empty."""
    cleaned = " ".join((value or "").split())
    if not cleaned:
        return None
    if _control(cleaned):
        raise FieldRefused(field, f"{field} cannot hold control characters", refusal="field_control_characters")
    if len(cleaned) > limit:
        raise FieldRefused(field, f"{field} is at most {limit} characters", refusal="field_too_long", limit=limit)
    return cleaned


# A host name of letters, digits and hyphens with at least one dot (``www.desprint.nl``), or one of its
# internationalised spellings; a port and a path may follow.
_HOST = re.compile(r"^(?=.{4,253}$)([^\W_]([\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$", re.UNICODE)


def website(value: str | None, *, field: str = "website") -> str | None:
    """A web address as stored: ``desprint.nl/jeugd`` becomes ``https://desprint.nl/jeugd``;
    only ``http`` and ``https``; None when empty."""
    cleaned = (value or "").strip()
    if not cleaned:
        return None
    if _control(cleaned) or any(c.isspace() for c in cleaned):
        raise FieldRefused(field, f"{field} is not a web address", refusal="website_spaces")
    if "://" not in cleaned:
        cleaned = "https://" + cleaned
    # Counted as stored, scheme included: the columns hold 300 characters.
    if len(cleaned) > 300:
        raise FieldRefused(field, f"{field} is at most 300 characters", refusal="field_too_long", limit=300)
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # "https://[[]]": brackets that are no IPv6 address
        raise FieldRefused(field, f"{field} is not a web address", refusal="website_invalid") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FieldRefused(field, f"{field} must start with http:// or https://", refusal="website_scheme")
    try:
        host = parts.hostname or ""
        parts.port  # raises ValueError for a port that is no number
    except ValueError:
        host = ""
    if parts.username or parts.password or not _HOST.match(host):
        raise FieldRefused(field, f"{field} is not a web address", refusal="website_invalid")
    return cleaned


def email(value: str | None, *, field: str = "email") -> str | None:
    """An e-mail address to show (not to log in with): one ``@``, a host with a dot; None when empty."""
    cleaned = (value or "").strip()
    if not cleaned:
        return None
    local, _, host = cleaned.rpartition("@")
    if len(cleaned) > 254 or _control(cleaned) or any(c.isspace() for c in cleaned) or not local or not _HOST.match(host):
        raise FieldRefused(field, f"{field} is not an e-mail address", refusal="email_invalid")
    return cleaned


_PHONE = re.compile(r"^\+?[0-9(][0-9 ()\-]{5,23}$")


def phone(value: str | None, *, field: str = "phone") -> str | None:
    """A phone number as typed (``0513 - 123 456``, ``14 0513``, ``+31 513 123456``); None when empty."""
    cleaned = " ".join((value or "").split())
    if not cleaned:
        return None
    digits = sum(c.isdigit() for c in cleaned)
    if not cleaned.isascii() or not _PHONE.match(cleaned) or not 5 <= digits <= 15:
        raise FieldRefused(field, f"{field} is not a phone number", refusal="phone_invalid")
    return cleaned

"""The typed fallback code: ``XXXX-XXXX-XXXX`` in Crockford base32.

Eleven characters carry 55 bits; the twelfth is a Luhn mod 32 check
character, so a single mistyped character (and nearly every swap of two
neighbours) is caught on the spot, before any database look-up. Input is
forgiving: case, hyphens and spaces do not matter, and O, I and L read as
0, 1 and 1, as Crockford intends.

The database keeps only ``HMAC(code key, code)``, so a copy of it reveals no
usable code. The code itself is ``HMAC(code key, handle)`` written in
base32: the pass page, the letter and the mail-merge export can show it
again, but only a holder of the secret key can compute it.
"""
from __future__ import annotations

import hashlib
import hmac
import re

from ..config import Settings
from .errors import InvalidCode
from .keys import code_keys, keyed_hash

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-]+")
LENGTH = 12


def check_character(body: str) -> str:
    """Luhn mod 32 over ``body`` (Crockford characters)."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def is_valid(code: str) -> bool:
    return len(code) == LENGTH and all(c in _VALUE for c in code) and check_character(code[:-1]) == code[-1]


def normalise(text: str) -> str:
    """``"abcd-efgh-jk0m"`` → ``"ABCDEFGHJK0M"``; raises ``InvalidCode`` on a typo."""
    code = _SEPARATORS.sub("", (text or "").upper()).translate(_ALIASES)
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        raise InvalidCode("a pass code has 12 letters and digits, like ABCD-EFGH-JK01")
    if check_character(code[:-1]) != code[-1]:
        raise InvalidCode("this pass code contains a typo: check it against the letter")
    return code


def looks_like_typed_code(text: str) -> bool:
    """True when ``text`` is a typed-code attempt rather than a QR payload.

    A QR payload is a URL or a token, and both contain a ``/`` or a ``.``; a
    typed code never does. The redeem side counts failed typed-code look-ups
    apart (they get far tighter rate limits), including mistyped ones.
    """
    stripped = (text or "").strip()
    return bool(stripped) and "/" not in stripped and "." not in stripped


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, LENGTH, 4))


def _body_from(key: bytes, handle: str) -> str:
    digest = hmac.new(key, b"code:" + handle.encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest[:7], "big") >> 1  # 55 bits
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(LENGTH - 1)))


def code_for_handle(key: bytes, handle: str) -> str:
    body = _body_from(key, handle)
    return body + check_character(body)


def lookup_hash(key: bytes, code: str) -> str:
    return keyed_hash(key, "lookup:" + code)


def new_code(settings: Settings, handle: str) -> tuple[str, str]:
    """The typed code of a new pass generation and the hash to store."""
    key = code_keys(settings)[0]
    code = code_for_handle(key, handle)
    return code, lookup_hash(key, code)


def lookup_hashes(settings: Settings, code: str) -> list[str]:
    """Every hash the (normalised) code may be stored under, one per key."""
    return [lookup_hash(key, code) for key in code_keys(settings)]


def code_of(settings: Settings, handle: str, code_hash: str) -> str | None:
    """The typed code of a pass, or None when its key is no longer configured."""
    for key in code_keys(settings):
        code = code_for_handle(key, handle)
        if hmac.compare_digest(lookup_hash(key, code), code_hash):
            return code
    return None

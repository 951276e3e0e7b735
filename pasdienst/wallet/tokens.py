"""The QR token: ``HANDLE.MAC``, and the payload ``PASDIENST_BASE_URL/p/HANDLE.MAC``.

* ``HANDLE`` is 13 base32 characters (8 random bytes) naming one generation
  of one pass. It carries no personal data, no balance and no date: the
  database is the authority on all of those.
* ``MAC`` is HMAC-SHA256 over the handle, truncated to 8 bytes, made by an
  itsdangerous ``Signer`` with its own salt and the whole key list: the
  newest key signs, every key verifies, so rotating the key does not
  invalidate passes already printed.

The token is 25 characters; with a base URL such as
``https://kindpakket.opsterland.nl`` the payload still fits a version-5 QR
code at error correction M (tests/wallet/test_tokens.py). The MAC is checked
in constant time before anything touches the database.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.signer import HMACAlgorithm

from ..config import Settings
from .errors import InvalidCode

SALT = "pasdienst.qr.v1"
MAC_BYTES = 8
_HANDLE = re.compile(r"^[A-Z2-7]{13}$")
_TOKEN = re.compile(r"^[A-Z2-7]{13}\.[A-Za-z0-9_-]{11}$")
_PATH = re.compile(r"/p/([^/]+)/?$")


class TruncatedHMAC(HMACAlgorithm):
    """HMAC-SHA256 cut to 8 bytes: 64 bits against forgery keeps the QR small,
    and a guess must also hit one of the live random handles."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:MAC_BYTES]


@lru_cache(maxsize=8)
def _signer(keys: tuple[str, ...]) -> Signer:
    return Signer(list(keys), salt=SALT, digest_method=hashlib.sha256, algorithm=TruncatedHMAC())


def signer(settings: Settings) -> Signer:
    return _signer(tuple(settings.secret_keys))


def new_handle() -> str:
    return base64.b32encode(secrets.token_bytes(8)).decode().rstrip("=")


def token_for(settings: Settings, handle: str) -> str:
    return signer(settings).sign(handle).decode()


def payload_for(settings: Settings, handle: str) -> str:
    """What the QR code holds (and the holder's page address)."""
    return f"{settings.base_url}/p/{token_for(settings, handle)}"


def extract_token(text: str) -> str | None:
    """The token in a QR payload (any base URL) or a bare token; else None."""
    raw = (text or "").strip()
    if "/" in raw:
        match = _PATH.search(urlsplit(raw).path)
        if match is None:
            return None
        raw = match.group(1)
    return raw if _TOKEN.match(raw) else None


def verify_token(settings: Settings, token: str) -> str:
    """The handle of a token whose MAC verifies; ``InvalidCode`` otherwise."""
    if not _TOKEN.match(token or ""):
        raise InvalidCode("this is not a valid pass code")
    # Base64 of 8 bytes leaves 2 spare bits in the last character: four
    # spellings decode to the same MAC. Accept only the one we write, so a
    # changed token never verifies.
    mac = token.rsplit(".", 1)[1]
    if base64_encode(base64_decode(mac)).decode() != mac:
        raise InvalidCode("this pass code does not verify")
    try:
        handle = signer(settings).unsign(token).decode()
    except BadSignature:
        raise InvalidCode("this pass code does not verify") from None
    if not _HANDLE.match(handle):
        raise InvalidCode("this is not a valid pass code")
    return handle

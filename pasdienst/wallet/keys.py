"""Keys derived from ``PASDIENST_SECRET_KEY`` for the wallet's hashes and ciphers.

Each purpose gets its own key, ``HMAC-SHA256(secret, label)``, so a leak of
one derived key (or a hash made with it) says nothing about the others.

Two kinds of use, two rules for rotation (``secret_keys`` is oldest first):

* **Matching** (the BSN hash, the imported row's digest) must give the same
  hash after a new key is added, or a re-import would no longer recognise
  its children; it uses the *oldest* key.
* **Secrets that are verified** (typed codes) and the income cipher use the
  newest key for new values and accept every key in the list, so a rotated
  key keeps old passes and old rows readable until it is dropped.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..config import Settings

BSN = b"pasdienst.bsn.v1"
CHILD_DIGEST = b"pasdienst.child.v1"
INCOME = b"pasdienst.income.v1"
TYPED_CODE = b"pasdienst.code.v1"


def derive(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def keyed_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def matching_key(settings: Settings, purpose: bytes) -> bytes:
    """The key for hashes that must stay stable when a new key is added."""
    return derive(settings.secret_keys[0], purpose)


def bsn_hash(settings: Settings, bsn: str) -> str:
    return keyed_hash(matching_key(settings, BSN), "bsn:" + bsn)


@lru_cache(maxsize=8)
def _cipher(secrets: Sequence[str]) -> MultiFernet:
    # Newest first: MultiFernet encrypts with its first key, decrypts with any.
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(derive(secret, INCOME))) for secret in reversed(secrets)]
    )


def seal_income(settings: Settings, income: int) -> str:
    """Encrypt an income (hundredths of a percent) for storage."""
    return _cipher(tuple(settings.secret_keys)).encrypt(str(income).encode()).decode()


def open_income(settings: Settings, sealed: str | None) -> int | None:
    if sealed is None:
        return None
    try:
        return int(_cipher(tuple(settings.secret_keys)).decrypt(sealed.encode()))
    except InvalidToken:
        # Sealed with a key that has since been dropped from the list.
        raise RuntimeError(
            "a stored income cannot be decrypted with the configured PASDIENST_SECRET_KEY; "
            "was a key removed that is still in use?"
        ) from None


def code_keys(settings: Settings) -> list[bytes]:
    """Typed-code keys, newest first (the first one makes new codes)."""
    return [derive(secret, TYPED_CODE) for secret in reversed(settings.secret_keys)]

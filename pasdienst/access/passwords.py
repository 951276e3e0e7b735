"""Passwords: argon2id hashes, the policy a new password meets, one-time passwords.

Below the accounts and logins that use them; imports no service.
"""
from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import WeakPassword

#: argon2id at RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes,
#: also the library's defaults): about 0.2 s per hash on one core. Named
#: rather than left to the library's defaults, so that a new library version
#: cannot change them unnoticed (tests/access/test_passwords.py checks them).
PARAMETERS = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PARAMETERS)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the e-mail address is unknown, so that the answer
    # takes as long as for a known one and does not reveal who has an account.
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str, *, email: str | None = None) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", reason="too_short",
                           refusal="password_too_short", limit=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD_LENGTH} characters", reason="too_long",
                           refusal="password_too_long", limit=MAX_PASSWORD_LENGTH)
    if email and password.strip().lower() == email.lower():
        raise WeakPassword("a password cannot be the e-mail address", reason="is_email", refusal="password_is_email")


def random_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


def one_time_password() -> tuple[str, str]:
    """A new one-time password and its hash."""
    password = random_password()
    return password, hash_password(password)


def verify_nobody(password: str) -> None:
    """Take as long as checking a password does, for an unknown e-mail address:
    the answer's time must not reveal who has an account."""
    verify_password(_dummy_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with older parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)

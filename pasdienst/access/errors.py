from __future__ import annotations

from ..errors import PasdienstError, ValidationFailed


class Unauthenticated(PasdienstError):
    """No credentials, or wrong ones. Deliberately vague about which part was wrong."""

    code = "unauthenticated"
    status = 401


class Forbidden(PasdienstError):
    """Authenticated, but this role or scope may not do this."""

    code = "forbidden"
    status = 403


class WeakPassword(ValidationFailed):
    """A new password that does not meet the policy (length, not the e-mail address, changed)."""

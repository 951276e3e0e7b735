"""Redeem's domain errors, each with the stable code of CONTRACT.md."""
from __future__ import annotations

from ..errors import Conflict, PasdienstError, ValidationFailed


class NotAcceptedHere(PasdienstError):
    code = "not_accepted_here"
    status = 403


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


class VoidWindowClosed(Conflict):
    code = "void_window_closed"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"


class RateLimited(PasdienstError):
    """Too many requests: ``retry_after`` seconds to wait; for wrong typed
    codes also ``limit`` (``login`` or ``merchant``), which the till names."""

    code = "rate_limited"
    status = 429
    public = ("retry_after", "limit")

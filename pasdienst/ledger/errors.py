from __future__ import annotations

from ..errors import Conflict, NotFound, PasdienstError, ValidationFailed


class LedgerError(PasdienstError):
    pass


class InvalidTransfer(LedgerError, ValidationFailed):
    """Amounts that are not positive integer cents, or legs that do not balance."""


class UnknownAccount(LedgerError, NotFound):
    pass


class InsufficientFunds(LedgerError, Conflict):
    code = "insufficient_balance"

    def __init__(
        self, message: str, *, account_key: str, balance: int, requested: int, refusal: str | None = None, **details: object
    ) -> None:
        super().__init__(message, refusal=refusal, account=account_key, balance_cents=balance, requested_cents=requested,
                         **details)
        self.account_key = account_key
        self.balance = balance
        self.requested = requested


class IdempotencyKeyReused(LedgerError, ValidationFailed):
    code = "idempotency_key_reused"


class AlreadyReversed(LedgerError, Conflict):
    code = "already_reversed"

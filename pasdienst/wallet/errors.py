"""The wallet's domain errors, each with the stable code of CONTRACT.md."""
from __future__ import annotations

from ..errors import Conflict, NotFound, PasdienstError, ValidationFailed


class InvalidCode(PasdienstError):
    """A QR payload or typed code that does not verify or is unknown."""

    code = "invalid_code"
    status = 422


#: The one answer for a code that names no pass here: unknown, or another pass
#: than the voucher's. Telling them apart would tell a guesser which codes are
#: real and usable.
UNKNOWN_PASS = "unknown pass code"


def unknown_pass() -> InvalidCode:
    return InvalidCode(UNKNOWN_PASS)


class PassBlocked(PasdienstError):
    """A pass that no longer works: ``reason`` ``blocked`` (lost or stolen,
    not replaced yet) or ``replaced`` (reissued: the family has a new letter).

    A replaced pass says so, to the till and on the holder's old link, rather
    than answering as an unknown code: a cashier who is told "invalid" types
    the code again and again. Its QR carries the server's MAC, so only the
    real pass can show it; a replaced typed code works nowhere, so a guesser
    who hits one gains nothing to spend (docs/SECURITY.md)."""

    code = "pass_blocked"
    status = 409
    public = ("reason",)

    def __init__(self, message: str = "this pass is blocked", *, reason: str = "blocked", refusal: str | None = None) -> None:
        super().__init__(message, refusal=refusal, reason=reason)
        self.reason = reason


def pass_replaced() -> PassBlocked:
    return PassBlocked("this pass was replaced by a new pass (reissued); the family has a new letter", reason="replaced",
                       refusal="pass_replaced")


class PassExpired(PasdienstError):
    code = "pass_expired"
    status = 409


class SchemeInvalid(ValidationFailed):
    """A scheme file with problems. ``problems`` says each in English with its
    key path (``budget[2].amount: ...``), as the CLI and the API do;
    ``found`` holds them with their codes (``wallet.schemes.SchemeProblem``),
    whose ``dutch`` the back office shows."""

    def __init__(self, message: str, found: list) -> None:
        problems = [str(problem) for problem in found]
        super().__init__(message, errors=problems)
        self.problems = problems
        self.found = found


class SchemeLocked(Conflict):
    code = "scheme_locked"


class ImportFileInvalid(ValidationFailed):
    """The children file as a whole cannot be read (not CSV text, no header)."""


class BudgetShort(Conflict):
    """The fund does not cover an issuing run."""

    code = "insufficient_budget"

    def __init__(self, message: str, *, needed: int, available: int) -> None:
        super().__init__(message, needed_cents=needed, available_cents=available, short_cents=needed - available)
        self.needed = needed
        self.available = available
        self.short = needed - available


class ShortValidity(ValidationFailed):
    """A pass for one child that would be valid for only a few weeks, issued without whoever awards it saying they know."""

    code = "short_validity"


class PassNotFound(NotFound):
    pass


class PassStateConflict(Conflict):
    """Blocking, reissuing or closing a pass that is not in a state for it."""

    code = "pass_state"


class YearNotOver(PassStateConflict):
    """Closing a year whose passes are still valid."""

    code = "year_not_over"


class YearAlreadyClosed(Conflict):
    """Closing a year once more when it has been closed (the back office asks for once)."""

    code = "year_closed"


class NothingToClose(Conflict):
    """Closing a year that has no passes at all."""

    code = "nothing_to_close"

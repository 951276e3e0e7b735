"""Settlement's domain errors, with the stable codes of CONTRACT.md."""
from __future__ import annotations

from ..access.errors import Forbidden
from ..errors import Conflict


class NothingToSettle(Conflict):
    """No redemption is waiting: not an error for the command line (it says so
    and exits 0), and no empty batch is made."""

    refusal = "nothing_to_settle"


class WrongState(Conflict):
    """The batch is not in a state that allows this step (``batch``: its id)."""

    refusal = "batch_wrong_state"


class FourEyes(Forbidden):
    """The creator of a batch cannot approve it."""


class CorrectionRefused(Conflict):
    pass

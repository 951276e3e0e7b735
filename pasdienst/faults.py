"""Crash points for the tests that kill a settlement run or a background job halfway.

``checkpoint("settlement.create.after_claim")`` does nothing, unless the
environment variable ``PASDIENST_FAULT`` names that point: then the process
kills itself with SIGKILL on the spot, like a power cut or an OOM kill would,
with no chance to roll back or clean up. The tests run the command line in a
subprocess with the variable set and then prove that the database holds
either all of the step or none of it, and that running the command again
finishes the job. Ignored in production.
"""
from __future__ import annotations

import os
import signal

ENV = "PASDIENST_FAULT"


def checkpoint(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted or wanted != name or os.environ.get("PASDIENST_ENV") == "production":
        return
    os.kill(os.getpid(), signal.SIGKILL)

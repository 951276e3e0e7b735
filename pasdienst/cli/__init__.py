"""The ``pasdienst`` command line (CONTRACT.md, "Command line").

Every command parses its arguments, opens one transaction, calls a service
and prints the outcome. A domain error becomes a one-line reason on stderr
and exit status 1, with the transaction rolled back so nothing changed.
The group is ``base.main``; each module below adds its commands to it, and
is imported here so that ``pasdienst --help`` lists them all.
"""
from __future__ import annotations

from . import (  # noqa: F401 - each registers its commands
    access,
    backup,
    budget,
    children,
    cooperation,
    db,
    demo,
    ledger,
    maatwerk,
    merchant,
    municipality,
    passes,
    scheme,
    serve,
    settlement,
    worker,
    year_end,
)
from .base import Context, main, pass_ctx

__all__ = ["Context", "main", "pass_ctx"]

"""Feature packages that add invariants to ``pasdienst ledger verify``.

The ledger must not import them; the CLI and the tests load them from here.
"""
from __future__ import annotations

import importlib

VERIFY_CHECK_MODULES: tuple[str, ...] = (
    "pasdienst.wallet.checks", "pasdienst.settlement.checks", "pasdienst.cooperations.checks",
    "pasdienst.maatwerk.checks",
)


def load_verify_checks() -> None:
    for name in VERIFY_CHECK_MODULES:
        importlib.import_module(name)

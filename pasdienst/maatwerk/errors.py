"""Maatwerk's refusals: each names its refusal code (``refusal=``) for the ``nl`` catalogue."""
from __future__ import annotations

from ..errors import Conflict


class BudgetShort(Conflict):
    """An award larger than what is left: of the team's budget for the year, the municipality's fund or the fund's money."""

    code = "maatwerk_budget_short"

"""The back office's own refusals (the codes of CONTRACT.md where one fits)."""
from __future__ import annotations

from ..errors import Conflict


class CapReached(Conflict):
    """A case worker has issued as many discretionary passes this year as the cap allows."""

    code = "caseworker_cap_reached"

"""The back office's own refusals (the codes of CONTRACT.md where one fits)."""
from __future__ import annotations

from ..access.errors import Forbidden
from ..errors import Conflict


class CapReached(Conflict):
    """A case worker has issued as many discretionary passes this year as the cap allows."""

    code = "caseworker_cap_reached"


class SecondAdminRequired(Forbidden):
    """A change that needs four eyes, confirmed by the admin who asked for it."""

"""Four eyes' refusal: the same hands may not ask and confirm."""
from __future__ import annotations

from ..access.errors import Forbidden


class SecondAdminRequired(Forbidden):
    """A change that needs four eyes, confirmed by the admin who asked for it."""

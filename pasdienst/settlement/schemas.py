"""What the finance page's forms send, parsed once at the edge."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import marshmallow as ma

from ..web.parsing import YEAR_MAX, YEAR_MIN


class CreateBatchForm(ma.Schema):
    """``until``: the batch takes redemptions dated before this day (``YYYY-MM-DD``)."""

    until = ma.fields.Date(
        required=True, format="%Y-%m-%d", validate=ma.validate.Range(min=date(YEAR_MIN, 1, 1), max=date(YEAR_MAX, 12, 31))
    )

    class Meta:
        unknown = ma.EXCLUDE

    def load_form(self, form: Mapping[str, Any]) -> dict[str, Any] | None:
        """The parsed form, or None when it is not valid (the page says what to fill in)."""
        try:
            return self.load({key: form.get(key) for key in form if form.get(key) not in (None, "")})
        except ma.ValidationError:
            return None

"""The Dutch names the staff pages give to the codes pasdienst stores.

One table per kind of code, plain dictionaries and nothing else (no Flask,
no database), so services, views and tests can all read them. The app
factory registers them once as Jinja filters (:data:`FILTERS`); templates
write ``{{ event.action|audit_action }}`` and never keep a table of their own.
The holder's words (categories, voucher titles) are in ``wallet/labels.py``.
"""
from __future__ import annotations

from collections.abc import Callable

#: Why a pass is reissued (``wallet.models.REISSUE_REASONS``), as the form offers them.
REISSUE_REASON_TITLES = {
    "lost": "kwijt",
    "stolen": "gestolen",
    "damaged": "beschadigd",
    "other": "anders",
}


def reissue_reason(code: str | None, note: str | None = None) -> str:
    """``kwijt``, or ``kwijt: gemeld door moeder`` with the note typed beside it."""
    title = REISSUE_REASON_TITLES.get(code or "", code or "")
    return f"{title}: {note}" if note else title


#: The Jinja filters of these tables (``app.jinja_env.filters.update(FILTERS)``).
FILTERS: dict[str, Callable[..., str]] = {
    "reissue_reason": reissue_reason,
}

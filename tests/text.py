"""Reading pages as a person does: one helper for every test that looks for Dutch amounts.

Babel writes an amount as ``€\\xa04,50``: a no-break space keeps the euro
sign on the line of its amount. A test that looks for ``"€ 4,50"`` in a
page's raw HTML reads it through :func:`spaced`, which takes a no-break space
for the space it looks like; what the page says is unchanged.
"""
from __future__ import annotations


def spaced(text: str) -> str:
    """``text`` with every no-break space read as a plain space."""
    return text.replace("\xa0", " ")

"""The rules the API's schemas hold text and ids to, as the OpenAPI document publishes them.

``Pattern`` is a regular expression Python and an OpenAPI (ECMA-262) reader
agree on; ``LINE``, ``LINES``, ``CONTROL`` and ``WHITESPACE`` are the pieces
the schemas build theirs from; ``MAX_ID``/``MAX_BIG_ID`` bound ids (a larger
number overflows the database driver), for ``<int:…>`` in addresses too
(``web.parsing``).
"""
from __future__ import annotations

import re
from typing import Any

import marshmallow as ma

#: The largest id of an ``Integer`` and of a ``BigInteger`` key: bounds for
#: id parameters, since a larger number overflows the database driver.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


class Pattern(ma.validate.Regexp):
    """A ``pattern`` that Python and an OpenAPI (ECMA-262) reader agree on.

    Searched, as JSON Schema does (anchor it with ``^…$`` to match the whole
    text); a closing ``$`` is the end of the text (Python's would also allow
    a final newline); ``\\d`` and ``\\w`` are ASCII, as in ECMA. Spell
    whitespace out with ``WHITESPACE``: ``\\s`` means different things to
    Python, to ECMA and to schemathesis.
    """

    def __init__(self, pattern: str, *, error: str) -> None:
        super().__init__(pattern, error=error)  # published as written
        self._python = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern, re.ASCII)

    def __call__(self, value: Any) -> Any:  # str, as the schemas give it (Regexp also takes bytes)
        if self._python.search(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


#: Whitespace as Python's ``str.isspace`` (and so the services' ``strip``
#: and ``split``) knows it, for use inside ``[…]`` of a ``Pattern``.
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Control characters (Unicode Cc: C0, DEL and C1, as the merchant name rule
#: of ``merchants.records`` refuses them); PostgreSQL text cannot even hold NUL.
CONTROL = r"\x00-\x1f\x7f-\x9f"
#: One line of text that is not blank: no control characters, and some
#: character that is not whitespace.
LINE = rf"^[^{CONTROL}]*[^{CONTROL}{WHITESPACE}][^{CONTROL}]*$"
#: Text of one or more lines: no control characters but tab and line breaks.
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: The rule every text in every request follows: no NUL. ``pasdienst.web.inputguard``
#: enforces it before any view runs; ``metadata=NO_NUL`` on a field says so in
#: the document (where no stricter ``Pattern`` does already).
NO_NUL = {"pattern": r"^[^\x00]*$"}

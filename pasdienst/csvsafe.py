"""CSV files that finance staff open in Excel without being attacked by them.

Cells can hold text that merchants or children's households typed (a shop
name, a remittance note). A spreadsheet treats a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and tab or carriage return tricks can push
one in sideways, so such a cell gets a leading apostrophe: spreadsheets then
show it as text and never evaluate it (OWASP "CSV injection").

One exemption, on purpose: a cell that is *only* a plain number, such as
``-12,50`` or ``-3``, is left as it is. It cannot carry a formula, and quoting
it would turn the amounts we export ourselves into text that no longer adds
up. ``-1+2`` or ``-2+3+cmd|' /C calc'!A0`` are not plain numbers and are
neutralised. Numbers passed as ``int`` or ``Decimal`` are never touched.

Files are UTF-8 with a byte order mark and ``;`` between cells: Excel set to
Dutch opens that directly, with accents intact and decimal commas read as
numbers.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

# Characters that make a spreadsheet read a cell as a formula, or that can
# hide one (a leading tab or line break is dropped by some importers).
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
BOM = "\ufeff"


def safe_cell(value: object) -> str:
    """The text of one CSV cell, neutralised against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    text = str(value)
    # A leading space does not stop every importer from reading "  =1+1" as
    # a formula (LibreOffice trims), so look past spaces.
    head = text.lstrip(" ")
    if head.startswith(_TRIGGERS) and not _PLAIN_NUMBER.match(head):
        return "'" + text
    return text


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]], *, delimiter: str = ";") -> str:
    """The whole file as text, including the byte order mark."""
    buffer = io.StringIO()
    buffer.write(BOM)
    _write_rows(buffer, header, rows, delimiter)
    return buffer.getvalue()


def csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]], *, delimiter: str = ";") -> bytes:
    """The whole file as UTF-8 bytes with a byte order mark (for downloads)."""
    return csv_text(header, rows, delimiter=delimiter).encode("utf-8")


def write_csv(
    target: str | os.PathLike[str] | IO[Any],
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ";",
) -> int:
    """Write a safe CSV to a path or an open file; returns the number of rows.

    A path is written all at once through a temporary file and a rename, so
    an error halfway (a bad row from a generator) leaves no half-written file
    behind and an earlier file of that name intact. An open text file gets
    the rows as they come; an open binary file gets UTF-8.
    """
    if isinstance(target, (str, os.PathLike)):
        rows = list(rows)
        write_atomically(Path(target), csv_bytes(header, rows, delimiter=delimiter))
        return len(rows)
    if isinstance(target, io.TextIOBase):
        target.write(BOM)
        return _write_rows(target, header, rows, delimiter)
    rows = list(rows)
    target.write(csv_bytes(header, rows, delimiter=delimiter))
    return len(rows)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (temporary file + rename).

    The file is readable by its owner only (``mkstemp``): exports hold IBANs
    and amounts.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_rows(handle: IO[str], header: Sequence[object], rows: Iterable[Sequence[object]], delimiter: str) -> int:
    writer = csv.writer(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
    return count

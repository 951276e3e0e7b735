"""Importing the municipality's export of eligible children (CONTRACT.md, "Children CSV").

Exports are messy: a byte order mark or none, ``;`` or ``,``, header names in
any case, ``DD-MM-YYYY`` next to ``YYYY-MM-DD``, ``115`` next to ``115%``,
stray spaces. All of that is read. Each row is then valid as a whole or
rejected as a whole with a reason; a file that is not CSV text at all is one
error and changes nothing.

The BSN is checked with the elfproef and kept only as a keyed hash, to
recognise the child in a later import; the income is encrypted. Neither is
ever put in a message, a log or the rejected-rows file.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor, ensure_municipality, ensure_role
from ..clock import now_utc
from ..config import Settings
from ..db import insert_rows
from ..errors import ValidationFailed
from ..municipalities.services import get_municipality
from . import keys
from .errors import ImportFileInvalid
from .models import Child, ChildImport

COLUMNS = (
    "child_ref", "first_name", "birth_date", "household_ref", "income_pct",
    "override_reason", "bsn", "email", "postcode",
)
REQUIRED = ("child_ref", "first_name", "birth_date")
MAX_BYTES = 100 * 1024 * 1024

_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_DUTCH = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_PCT = re.compile(r"^(\d{1,4})(?:[.,](\d{1,2}))?\s*%?$")
_POSTCODE = re.compile(r"^([1-9]\d{3})\s?([A-Za-z]{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHUNK = 2000


@dataclass(frozen=True)
class ChildRow:
    line: int
    child_ref: str
    first_name: str
    birth_date: date
    household_ref: str | None
    income: int | None  # hundredths of a percent
    override_reason: str | None
    bsn: str | None
    email: str | None
    postcode: str | None
    cells: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


#: Why a row is rejected, per problem code: in English, as the command line and its
#: FILE.rejected.csv say it (CONTRACT.md). The back office's page and download say it in
#: Dutch from the code and its values (``web/dutch.py``: ``row.<code>`` in the catalogue).
_REASONS: dict[str, str] = {
    "missing": "{column} is missing",
    "control_characters": "{column} contains control characters",
    "too_long": "{column} is longer than {limit} characters",
    "date_format": "birth_date {value!r} is not YYYY-MM-DD or DD-MM-YYYY",
    "date_unreal": "birth_date {value!r} is not a real date",
    "date_future": "birth_date {value} lies in the future",
    "date_too_old": "birth_date {value} is too long ago",
    "income_format": "income_pct {value!r} is not a percentage such as 115 or 115%",
    "income_too_high": "income_pct is above 1000%",
    "income_ratio": "income_pct {value!r} looks like a ratio (1.15 for 115%?): write the percentage of the social minimum, e.g. 115",
    "bsn_elfproef": "bsn is not a valid BSN (it fails the elfproef)",
    "email": "email is not an e-mail address",
    "postcode": "postcode is not a Dutch postcode such as 9251 AA",
    "field_count": "the row has {fields} fields where the header has {columns}",
    "duplicate_ref": "child_ref {ref} is already on line {line}",
    "duplicate_bsn": "the same bsn is already on line {line}",
    "bsn_of_other_child": "the bsn belongs to another child ({ref})",
    "bsn_of_child_in_file": "the bsn belongs to child {ref}, also in this file",
}


class RowProblem(ValueError):
    """Why one row cannot be imported: a code from ``_REASONS`` and its values."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(_REASONS[code].format(**params))
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Rejected:
    line: int
    cells: dict[str, str]
    problem: RowProblem = field(compare=False)

    @property
    def reason(self) -> str:
        """In English, as the command line prints it and writes it to FILE.rejected.csv."""
        return str(self.problem)



@dataclass
class ParsedFile:
    header: list[str]
    delimiter: str
    rows: list[ChildRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass
class ImportResult:
    imported: int
    updated: int
    unchanged: int
    rejected: list[Rejected]
    header: list[str]
    delimiter: str
    dry_run: bool
    #: The recorded import (``wallet_child_import``) when a named file added or changed children.
    import_id: int | None = None

    def summary(self) -> str:
        return f"imported {self.imported}, updated {self.updated}, rejected {len(self.rejected)}"


# -- reading ---------------------------------------------------------------

def _decode(data: bytes) -> str:
    if not data.strip():
        raise ImportFileInvalid("the file is empty", refusal="import_empty")
    if b"\x00" in data[:65536]:
        raise ImportFileInvalid("the file is not CSV text (it contains binary data)", refusal="import_binary")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows still saves "CSV" as Windows-1252; read it rather
        # than refuse a municipality's export over its accents.
        text = data.decode("cp1252", errors="replace")
    sample = text[:65536]
    if len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        raise ImportFileInvalid("the file is not CSV text (it contains control characters)", refusal="import_control")
    return text


def _header_name(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().strip('"').lower())


def _sniff(first_line: str) -> str:
    return ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``DD-MM-YYYY`` (also with ``/``); ``ValueError`` otherwise."""
    if m := _ISO.match(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _DUTCH.match(text):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        raise RowProblem("date_format", value=text)
    try:
        return date(year, month, day)
    except ValueError:
        raise RowProblem("date_unreal", value=text) from None


#: Below 10 % of the social minimum an income is a ratio (``1,15``) typed in
#: the percentage column; 0 stays possible (no income at all).
MIN_PLAUSIBLE_INCOME = 10_00


def parse_income(text: str) -> int:
    """``115``, ``115%``, ``115,5`` → hundredths of a percent."""
    m = _PCT.match(text)
    if not m:
        raise RowProblem("income_format", value=text)
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def elfproef(bsn: str) -> bool:
    if len(bsn) != 9 or not (bsn.isascii() and bsn.isdigit()) or bsn == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(bsn[:8], range(9, 1, -1), strict=True)) - int(bsn[8])
    return total % 11 == 0


def _optional(cells: dict[str, str], name: str, limit: int) -> str | None:
    value = cells.get(name, "")
    if len(value) > limit:
        raise RowProblem("too_long", column=name, limit=limit)
    return value or None


def _row(line: int, cells: dict[str, str], today: date) -> ChildRow:
    """One row as a child, or ``RowProblem`` with the reason to reject it."""
    for name in REQUIRED:
        if not cells.get(name):
            raise RowProblem("missing", column=name)
    for name, value in cells.items():
        if _CONTROL.search(value):
            raise RowProblem("control_characters", column=name)
    child_ref = cells["child_ref"]
    if len(child_ref) > 64:
        raise RowProblem("too_long", column="child_ref", limit=64)
    first_name = re.sub(r"\s+", " ", cells["first_name"])
    if len(first_name) > 100:
        raise RowProblem("too_long", column="first_name", limit=100)
    birth_date = parse_date(cells["birth_date"])
    if birth_date > today:
        raise RowProblem("date_future", value=cells["birth_date"])
    if birth_date.year < 1900:
        raise RowProblem("date_too_old", value=cells["birth_date"])
    income = parse_income(cells["income_pct"]) if cells.get("income_pct") else None
    if income is not None and income > 100_000:
        raise RowProblem("income_too_high")
    # Nobody lives on 1.15 % of the social minimum: such a value is a ratio
    # written as a number and would silently give the full package.
    if income is not None and 0 < income < MIN_PLAUSIBLE_INCOME:
        raise RowProblem("income_ratio", value=cells["income_pct"])
    bsn = cells.get("bsn") or None
    if bsn is not None:
        bsn = re.sub(r"[\s.]", "", bsn)
        if len(bsn) == 8 and bsn.isascii() and bsn.isdigit():
            bsn = "0" + bsn  # a spreadsheet dropped the leading zero
        if not elfproef(bsn):
            raise RowProblem("bsn_elfproef")
    email = _optional(cells, "email", 254)
    if email is not None and not _EMAIL.match(email):
        raise RowProblem("email")
    postcode = _optional(cells, "postcode", 16)
    if postcode is not None:
        m = _POSTCODE.match(postcode)
        if not m:
            raise RowProblem("postcode")
        postcode = f"{m.group(1)} {m.group(2).upper()}"
    return ChildRow(
        line=line,
        child_ref=child_ref,
        first_name=first_name,
        birth_date=birth_date,
        household_ref=_optional(cells, "household_ref", 64),
        income=income,
        override_reason=_optional(cells, "override_reason", 500),
        bsn=bsn,
        email=email,
        postcode=postcode,
        cells=cells,
    )


def read_children(data: bytes, *, today: date, max_bytes: int = MAX_BYTES) -> ParsedFile:
    """Parse the whole file; rows that fail go to ``rejected`` with a reason."""
    if len(data) > max_bytes:
        raise ImportFileInvalid(f"the file is larger than {max_bytes // (1024 * 1024)} MB", refusal="import_too_large",
                                limit_mb=max_bytes // (1024 * 1024))
    text = _decode(data)
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = _sniff(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header_cells = next((r for r in reader if any(c.strip() for c in r)), None)
        if header_cells is None:
            raise ImportFileInvalid("the file is empty", refusal="import_empty")
        header = [_header_name(c) for c in header_cells]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ImportFileInvalid(
                f"the file has no column {', '.join(missing)}; its first line must name the columns "
                f"({', '.join(COLUMNS)})", refusal="import_no_column", missing=missing,
            )
        doubled = sorted({c for c in header if c and header.count(c) > 1})
        if doubled:
            raise ImportFileInvalid(f"the file names the column {', '.join(doubled)} twice", refusal="import_column_twice",
                                    columns=doubled)
        parsed = ParsedFile(header=header, delimiter=delimiter)
        seen_refs: dict[str, int] = {}
        seen_bsn: dict[str, int] = {}
        for raw in reader:
            line = reader.line_num
            if not any(c.strip() for c in raw):
                continue
            cells = {name: value.strip() for name, value in zip(header, raw, strict=False) if name}
            if len(raw) != len(header):
                parsed.rejected.append(
                    Rejected(line, cells, RowProblem("field_count", fields=len(raw), columns=len(header)))
                )
                continue
            try:
                row = _row(line, cells, today)
            except RowProblem as problem:
                parsed.rejected.append(Rejected(line, cells, problem))
                continue
            if row.child_ref in seen_refs:
                parsed.rejected.append(
                    Rejected(line, cells, RowProblem("duplicate_ref", ref=row.child_ref, line=seen_refs[row.child_ref]))
                )
                continue
            if row.bsn is not None and row.bsn in seen_bsn:
                parsed.rejected.append(Rejected(line, cells, RowProblem("duplicate_bsn", line=seen_bsn[row.bsn])))
                continue
            seen_refs[row.child_ref] = line
            if row.bsn is not None:
                seen_bsn[row.bsn] = line
            parsed.rows.append(row)
    except csv.Error as exc:
        raise ImportFileInvalid(f"the file is not readable as CSV ({exc})", refusal="import_unreadable") from None
    return parsed


def rejected_rows(
    result: ImportResult, *, reason: Callable[[RowProblem], str] = str, reason_column: str = "reason"
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of ``FILE.rejected.csv``: the input columns plus ``reason``, in English
    (the back office passes the Dutch layer's ``row_problem`` and ``reden``).

    The BSN column stays empty: the file is a to-do list for staff and must
    not become a copy of citizens' numbers.
    """
    header = [c for c in result.header if c] + [reason_column]
    rows = [
        [("" if name == "bsn" else r.cells.get(name, "")) for name in header[:-1]] + [reason(r.problem)]
        for r in result.rejected
    ]
    return header, rows


# -- storing ---------------------------------------------------------------

def _digest(key: bytes, row: ChildRow) -> str:
    body = [
        row.first_name, row.birth_date.isoformat(), row.household_ref, row.income,
        row.override_reason, row.bsn, row.email, row.postcode,
    ]
    return hmac.new(key, json.dumps(body).encode(), hashlib.sha256).hexdigest()


def _base_name(file_name: str) -> str:
    """The file's own name: a browser may send its folders along (``C:\\Users\\…\\kinderen.csv``)."""
    return re.split(r"[\\/]", file_name)[-1].strip()[:255] or "(zonder naam)"


def _stored(row: ChildRow, *, settings: Settings, digest: str, bsn_hash: str | None, now: datetime) -> dict[str, object]:
    """A valid row as the columns of its ``Child``, the income sealed."""
    return dict(
        child_ref=row.child_ref,
        first_name=row.first_name,
        birth_date=row.birth_date,
        household_ref=row.household_ref,
        income_sealed=keys.seal_income(settings, row.income) if row.income is not None else None,
        override_reason=row.override_reason,
        bsn_hash=bsn_hash,
        email=row.email,
        postcode=row.postcode,
        digest=digest,
        updated_at=now,
    )


def register_child(
    session: Session, municipality_code: str, cells: Mapping[str, str], *, settings: Settings, today: date,
) -> Child:
    """One new child typed into a form (a case worker's registration), held to the rules a row of
    the children CSV meets: what the import would reject is refused, ``child_details_invalid``
    naming the row's problem (``problem``, a ``RowProblem``).

    Written as the import writes a new child, but names no import file. The caller has made
    sure the municipality has no child with this ``child_ref`` yet.
    """
    municipality = get_municipality(session, municipality_code)
    try:
        row = _row(0, {name: value.strip() for name, value in cells.items() if name in COLUMNS}, today)
        bsn_hash = keys.keyed_hash(keys.matching_key(settings, keys.BSN), "bsn:" + row.bsn) if row.bsn else None
        if bsn_hash is not None:
            holder = session.execute(
                select(Child.child_ref).where(Child.municipality_id == municipality.id, Child.bsn_hash == bsn_hash)
            ).scalar()
            if holder is not None:
                raise RowProblem("bsn_of_other_child", ref=holder)
    except RowProblem as problem:
        raise ValidationFailed(f"the child's details are not valid: {problem}", refusal="child_details_invalid",
                               problem=problem) from None
    now = now_utc()
    digest = _digest(keys.matching_key(settings, keys.CHILD_DIGEST), row)
    child = Child(municipality_id=municipality.id, created_at=now, import_id=None,
                  **_stored(row, settings=settings, digest=digest, bsn_hash=bsn_hash, now=now))
    session.add(child)
    session.flush()
    return child


def import_children(
    session: Session,
    municipality_code: str,
    data: bytes,
    *,
    settings: Settings,
    today: date,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    file_name: str | None = None,
    actor: Actor | None = None,
    max_bytes: int = MAX_BYTES,
) -> ImportResult:
    """Import the rows of a children CSV; ``dry_run`` computes without writing.

    A row updates the child with the same ``child_ref``, or else the child
    with the same BSN (the municipality renumbered it), or adds a new child.
    With ``file_name`` (a file from the page or the command line) the run is
    recorded as a ``ChildImport`` and every child it adds or changes names it;
    a child written without one (a case worker's registration) names none.
    With ``actor`` (an admin of the municipality, or ``CLI_ACTOR``) the import
    is audited (``children.import`` with its counts; a dry run is not);
    without, it is data being seeded (the demo, tests). ``max_bytes``: a
    page's upload is held to less than the command line's file.
    """
    municipality = get_municipality(session, municipality_code)
    if actor is not None:
        ensure_role(actor, "admin", "system")
        ensure_municipality(actor, municipality.id)
    parsed = read_children(data, today=today, max_bytes=max_bytes)
    digest_key = keys.matching_key(settings, keys.CHILD_DIGEST)
    bsn_key = keys.matching_key(settings, keys.BSN)

    existing: dict[str, tuple[int, str, str | None]] = {}
    by_bsn: dict[str, tuple[int, str]] = {}
    for cid, ref, digest, bsn_hash in session.execute(
        select(Child.id, Child.child_ref, Child.digest, Child.bsn_hash).where(Child.municipality_id == municipality.id)
    ):
        existing[ref] = (cid, digest, bsn_hash)
        if bsn_hash is not None:
            by_bsn[bsn_hash] = (cid, ref)

    refs_in_file = {row.child_ref for row in parsed.rows}
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    unchanged = 0
    rejected = list(parsed.rejected)
    now = now_utc()
    for row in parsed.rows:
        digest = _digest(digest_key, row)
        bsn_hash = keys.keyed_hash(bsn_key, "bsn:" + row.bsn) if row.bsn else None
        holder = by_bsn.get(bsn_hash) if bsn_hash else None
        found = existing.get(row.child_ref)
        target: int | None = None
        if found is not None:
            if holder is not None and holder[0] != found[0]:
                rejected.append(Rejected(row.line, row.cells, RowProblem("bsn_of_other_child", ref=holder[1])))
                continue
            if found[1] == digest:
                unchanged += 1
                continue
            target = found[0]
        elif holder is not None:
            if holder[1] in refs_in_file:
                rejected.append(Rejected(row.line, row.cells, RowProblem("bsn_of_child_in_file", ref=holder[1])))
                continue
            target = holder[0]  # the same child under a new child_ref
        values = _stored(row, settings=settings, digest=digest, bsn_hash=bsn_hash, now=now)
        if target is None:
            inserts.append({**values, "municipality_id": municipality.id, "created_at": now})
        else:
            updates.append({**values, "target_id": target})
    rejected.sort(key=lambda r: r.line)

    import_id: int | None = None
    if not dry_run and file_name is not None and (inserts or updates):
        record = ChildImport(
            municipality_id=municipality.id, file_name=_base_name(file_name), imported_at=now,
            imported=len(inserts), updated=len(updates),
        )
        session.add(record)
        session.flush()
        import_id = record.id
    for values in (*inserts, *updates):
        values["import_id"] = import_id

    if not dry_run:
        table = Child.__table__
        for start in range(0, len(inserts), _CHUNK):
            insert_rows(session, table, inserts[start : start + _CHUNK])
            if progress:
                progress(len(inserts[start : start + _CHUNK]))
        statement = update(table).where(table.c.id == bindparam("target_id"))
        for start in range(0, len(updates), _CHUNK):
            session.execute(statement, updates[start : start + _CHUNK])
            if progress:
                progress(len(updates[start : start + _CHUNK]))
        session.flush()
    if actor is not None and not dry_run:
        record_audit(
            session, actor, "children.import", "municipality", municipality.id,
            after={"imported": len(inserts), "updated": len(updates), "unchanged": unchanged, "rejected": len(rejected)},
            municipality_id=municipality.id,
        )
    return ImportResult(
        imported=len(inserts),
        updated=len(updates),
        unchanged=unchanged,
        rejected=rejected,
        header=parsed.header,
        delimiter=parsed.delimiter,
        dry_run=dry_run,
        import_id=import_id,
    )

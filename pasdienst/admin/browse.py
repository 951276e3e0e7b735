"""The back office's list of children (``/admin/kinderen``): search, filters, sort and pages, all in SQL.

* Search: a municipal reference (prefix), a first name (part of it) or a pass
  number, never a BSN (it is only stored as a keyed hash and not even tried).
* Filters: the pass status (without a pass, active, blocked, replaced,
  expired) overall or in one pass year; the age on a reference date; the
  award basis of that pass (full, sliding scale, case worker's decision),
  which is the only income band pasdienst stores: the income itself is
  encrypted and read only by eligibility, never here; the import file that
  added the child or last changed its data.
* Sort by first name, reference, age or registration date, either way, and
  pages of :data:`PAGE_SIZE` with the total count.

"The pass" of a child is its newest (year, then generation) within the
chosen year, or over all years. Filters on it are EXISTS / NOT EXISTS
conditions (``_pass_conditions``); the page's 50 rows then look their pass up
on the ``(child_id, year, generation)`` unique index. ``scripts/bench_admin.py``
times the list on 30,000 children (docs/benchmarks.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, aliased

from ..access.policy import Actor, ensure_role
from ..errors import NotFound, ValidationFailed
from ..wallet.models import (
    ACTIVE,
    BLOCKED,
    EXPIRED,
    FULL,
    OVERRIDE,
    REPLACED,
    SLIDING,
    Child,
    ChildImport,
    ChildPass,
    Scheme,
    age_on,
    format_pass_number,
)

PAGE_SIZE = 50
MAX_QUERY = 100
#: The pass filter's values: no pass (in the year), or the pass's status.
NO_PASS = "none"
PASS_FILTERS: tuple[str, ...] = (NO_PASS, ACTIVE, BLOCKED, REPLACED, EXPIRED)
BASES: tuple[str, ...] = (FULL, SLIDING, OVERRIDE)
SORTS: tuple[str, ...] = ("name", "ref", "age", "registered")

_LIKE_SPECIAL = re.compile(r"([\\%_])")
_PASS_NUMBER = re.compile(r"^KP-([0-9]{4})-([0-9]{1,18})$")


@dataclass(frozen=True)
class ChildFilters:
    """What the list shows; every field optional. Parsing the page's query string is the view's job."""

    query: str = ""
    #: One of :data:`PASS_FILTERS`.
    pass_status: str | None = None
    #: The pass year the pass status and award basis refer to (None: the newest pass of any year).
    year: int | None = None
    age_min: int | None = None
    age_max: int | None = None
    #: The day the ages are taken on (None: today).
    age_on: date | None = None
    #: One of :data:`BASES`.
    basis: str | None = None
    import_id: int | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1

    @property
    def narrowed(self) -> bool:
        """Whether anything but sort and page is set (the list then says "gevonden")."""
        return bool(
            self.query or self.pass_status or self.age_min is not None or self.age_max is not None
            or self.basis or self.import_id is not None
        )


@dataclass(frozen=True)
class ChildRow:
    id: int
    child_ref: str
    first_name: str
    birth_date: date
    age: int
    registered_at: datetime
    #: The pass in scope (see the module docstring): number, status and award basis.
    pass_number: str | None
    pass_status: str | None
    award_basis: str | None


@dataclass(frozen=True)
class ChildList:
    rows: list[ChildRow]
    total: int
    page: int
    page_size: int
    age_on: date

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class ImportChoice:
    id: int
    file_name: str
    imported_at: datetime
    imported: int
    updated: int


def _municipality_id(actor: Actor) -> int:
    ensure_role(actor, "admin", "caseworker")
    if actor.municipality_id is None:
        raise NotFound("this account belongs to no municipality", refusal="no_municipality")
    return actor.municipality_id


def born_by(day: date, age: int) -> date:
    """The last birth date of a child who is at least ``age`` on ``day`` (as ``models.age_on`` counts,
    a 29 February birthday falls on 1 March)."""
    year = day.year - age
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return date(year, 2, 28)


def _search(text: str) -> ColumnElement[bool]:
    pattern = _LIKE_SPECIAL.sub(r"\\\1", text.lower())
    condition = (
        (func.lower(Child.child_ref) == text.lower())
        | func.lower(Child.child_ref).like(pattern + "%", escape="\\")
        | func.lower(Child.first_name).like("%" + pattern + "%", escape="\\")
    )
    match = _PASS_NUMBER.match(text.upper())
    if match:
        condition = condition | Child.id.in_(
            select(ChildPass.child_id).where(ChildPass.id == int(match.group(2)), ChildPass.year == int(match.group(1)))
        )
    return condition


def _order(filters: ChildFilters) -> list[Any]:
    sort = filters.sort if filters.sort in SORTS else "name"
    by_sort: dict[str, list[Any]] = {
        "name": [Child.first_name, Child.child_ref],
        "ref": [Child.child_ref],
        "age": [Child.birth_date],
        "registered": [Child.created_at],
    }
    keys = by_sort[sort]
    keys.append(Child.id)
    # Youngest first is the latest birth date first.
    descending = filters.descending != (sort == "age")
    return [key.desc() for key in keys] if descending else keys


def _pass_conditions(filters: ChildFilters) -> list[ColumnElement[bool]]:
    """The pass filter and the award basis filter, as conditions on ``Child``.

    "Its pass has status X" is: the child has a pass in scope with status X
    that no newer pass in scope follows. As EXISTS / NOT EXISTS, PostgreSQL
    joins the sets at once and SQLite looks each child up on the
    ``(child_id, year, generation)`` index, instead of finding every child's
    newest pass first.
    """
    def in_year(alias: Any) -> list[ColumnElement[bool]]:
        return [alias.year == filters.year] if filters.year is not None else []

    candidate = aliased(ChildPass, name="candidate_pass")
    newer = aliased(ChildPass, name="newer_pass")
    conditions: list[ColumnElement[bool]] = []
    if filters.pass_status == NO_PASS:
        conditions.append(~exists().where(candidate.child_id == Child.id, *in_year(candidate)))
    elif filters.pass_status == REPLACED:
        # The pass shown is then the replacement; this asks whether one was replaced.
        conditions.append(
            exists().where(candidate.child_id == Child.id, candidate.status == REPLACED, *in_year(candidate))
        )
    wanted: list[ColumnElement[bool]] = []
    if filters.pass_status in (ACTIVE, BLOCKED, EXPIRED):
        wanted.append(candidate.status == filters.pass_status)
    if filters.basis in BASES:
        wanted.append(candidate.award_basis == filters.basis)
    if wanted:
        conditions.append(
            exists().where(
                candidate.child_id == Child.id, *wanted, *in_year(candidate),
                ~exists().where(
                    newer.child_id == candidate.child_id,
                    (newer.year > candidate.year)
                    | ((newer.year == candidate.year) & (newer.generation > candidate.generation)),
                    *in_year(newer),
                ),
            )
        )
    return conditions


def browse_children(session: Session, actor: Actor, filters: ChildFilters, *, today: date) -> ChildList:
    """One page of the actor's municipality's children, with the total count."""
    municipality_id = _municipality_id(actor)
    text = " ".join((filters.query or "").split())
    if len(text) > MAX_QUERY:
        raise ValidationFailed(f"search for at most {MAX_QUERY} characters", refusal="search_too_long", limit=MAX_QUERY)
    day = filters.age_on or today

    conditions: list[ColumnElement[bool]] = [Child.municipality_id == municipality_id]
    if text:
        conditions.append(_search(text))
    if filters.age_min is not None:
        conditions.append(Child.birth_date <= born_by(day, filters.age_min))
    if filters.age_max is not None:
        conditions.append(Child.birth_date > born_by(day, filters.age_max + 1))
    if filters.import_id is not None:
        conditions.append(Child.import_id == filters.import_id)
    conditions += _pass_conditions(filters)

    total = session.execute(select(func.count()).select_from(Child).where(*conditions)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    order = _order(filters)
    # The page's children first, then the pass in scope of each of them: 50 look-ups, not one per child.
    chosen = (
        select(Child.id).where(*conditions).order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        .subquery("chosen")
    )
    newest_pass = aliased(ChildPass, name="newest_pass")
    current = aliased(ChildPass, name="current_pass")
    newest = (
        select(newest_pass.id)
        .where(newest_pass.child_id == Child.id, *([newest_pass.year == filters.year] if filters.year is not None else []))
        .order_by(newest_pass.year.desc(), newest_pass.generation.desc())
        .limit(1)
        .correlate(Child)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Child.id, Child.child_ref, Child.first_name, Child.birth_date, Child.created_at,
            current.id.label("pass_id"), current.year.label("pass_year"), current.status, current.award_basis,
        )
        .join(chosen, chosen.c.id == Child.id)
        .outerjoin(current, current.id == newest)
        .order_by(*order)
    ).all()
    return ChildList(
        rows=[
            ChildRow(
                id=r.id, child_ref=r.child_ref, first_name=r.first_name, birth_date=r.birth_date,
                age=age_on(r.birth_date, day), registered_at=r.created_at,
                pass_number=format_pass_number(r.pass_year, r.pass_id) if r.pass_id is not None else None,
                pass_status=r.status, award_basis=r.award_basis,
            )
            for r in rows
        ],
        total=total, page=page, page_size=PAGE_SIZE, age_on=day,
    )


def recent_imports(session: Session, actor: Actor, *, limit: int = 20, keep: int | None = None) -> list[ImportChoice]:
    """The municipality's newest imported files (and ``keep``, the one a filter names, if it is older)."""
    municipality_id = _municipality_id(actor)
    query = select(ChildImport).where(ChildImport.municipality_id == municipality_id)
    found = list(session.scalars(query.order_by(ChildImport.imported_at.desc(), ChildImport.id.desc()).limit(limit)))
    if keep is not None and all(i.id != keep for i in found):
        found += list(session.scalars(query.where(ChildImport.id == keep)))
    return [ImportChoice(i.id, i.file_name, i.imported_at, i.imported, i.updated) for i in found]


def scheme_years(session: Session, actor: Actor) -> list[int]:
    """The years the municipality has a scheme for, newest first (the pass year filter's choices)."""
    municipality_id = _municipality_id(actor)
    return list(session.scalars(
        select(Scheme.year).where(Scheme.municipality_id == municipality_id).order_by(Scheme.year.desc())
    ))

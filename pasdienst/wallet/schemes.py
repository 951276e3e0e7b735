"""Scheme files (CONTRACT.md, "Scheme file"): validate all of it, then store.

Validation collects every problem with its key path (``budget[2].amount``;
tables are counted from 1, as they appear in the file) and nothing is stored
unless the whole file is valid. Loading the same content again changes
nothing; changed content replaces the scheme only while no pass has been
issued for its year, because issued vouchers were computed from it.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, TypeGuard

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.audit import record_audit
from ..access.policy import Actor, ensure_role
from ..clock import now_utc
from ..errors import NotFound, ValidationFailed
from ..money import OTHER_DIGITS, InvalidAmount, parse_euros
from ..municipalities.models import Municipality
from .eligibility import MID_YEAR_FULL, MID_YEAR_RULES
from .errors import SchemeInvalid, SchemeLocked
from .models import BUDGET, CATEGORIES, CHEQUE, PUNCHCARD, ChildPass, Scheme, SchemeItem

_TOP_KEYS = {
    "municipality", "year", "valid_from", "valid_until", "income_limit_pct", "sliding_scale", "mid_year",
    BUDGET, PUNCHCARD, CHEQUE,
}
_ITEM_KEYS = {
    BUDGET: {"category", "amount", "ages"},
    PUNCHCARD: {"code", "category", "strips", "strip_value", "ages"},
    CHEQUE: {"code", "category", "amount", "ages"},
}
_BAND_KEYS = {"up_to_pct", "share"}
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_AGE = 25
MAX_PCT = 1000
#: The commented example scheme file that ships with pasdienst.
EXAMPLE = "regeling-voorbeeld.toml"


@dataclass(frozen=True)
class ItemSpec:
    kind: str
    category: str
    code: str | None
    amount_cents: int
    strips: int | None
    strip_value_cents: int | None
    age_min: int
    age_max: int


@dataclass(frozen=True)
class SchemeSpec:
    """A validated scheme file. Percentages in hundredths, shares in basis points."""

    municipality: str
    year: int
    valid_from: date
    valid_until: date
    income_limit: int
    sliding_scale: tuple[tuple[int, int], ...]
    items: tuple[ItemSpec, ...]
    mid_year: str = MID_YEAR_FULL

    def digest(self) -> str:
        body = {
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "income_limit": self.income_limit,
            "sliding_scale": [list(b) for b in self.sliding_scale],
            # Only when set: schemes loaded before the key existed keep their digest.
            **({"mid_year": self.mid_year} if self.mid_year != MID_YEAR_FULL else {}),
            "items": [list(item.__dict__.values()) for item in self.items],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


#: Each problem a scheme file can have: code -> English, as the CLI and the API say it. The back
#: office says it in Dutch from the code and its values (``web/dutch.py``: ``scheme.<code>`` in the
#: catalogue); nothing matches on message text.
_PROBLEMS: dict[str, str] = {
    "missing": "is missing",
    "unknown_key": "is not a known key",
    "not_toml": "{reason}",
    "not_toml_at": "{reason}",
    "not_toml_end": "{reason}",
    "too_deep": "it nests arrays or tables too deeply",
    "endless_number": "it holds a number with too many digits",
    "not_municipality": "must be the municipality's code",
    "no_municipality": "no municipality {code!r}",
    "not_year": "must be a year such as 2027, not {value!r}",
    "not_date": "must be a date written YYYY-MM-DD, not {value!r}",
    "dates_reversed": "{until} is before valid_from {start}",
    "outside_year": "{start} does not lie in the scheme's year {year}",
    "not_pct": "must be a number (a percentage such as 120), not {value!r}",
    "pct_range": "must be a percentage above 0 and at most {max}, with at most two decimals",
    "not_scale": "must be a list like [{{ up_to_pct = 130, share = 0.5 }}]",
    "band_not_above_limit": "must be above income_limit_pct ({floor:g})",
    "band_not_above_band": "must be above the band before it ({floor:g})",
    "band_share_grows": "must not be larger than the share of the band before it",
    "not_share": "must be a number between 0 and 1, e.g. 0.5, not {value!r}",
    "share_range": "must be a number above 0 and at most 1 with at most four decimals, e.g. 0.5, not {value!r}",
    "amount_not_text": 'must be a euro amount as a string with two decimals, e.g. "150.00", not {value!r}',
    "not_amount": 'must be a euro amount with two decimals, e.g. "150.00", not {value!r}',
    "amount_other_digits": 'must be a euro amount with two decimals written with the digits 0-9, e.g. "150.00", not {value!r}',
    "amount_not_positive": "must be more than 0.00",
    "not_ages": "must be [youngest, oldest], whole years from 0 to {max}, youngest first, e.g. [4, 17]",
    "not_tables": "must be written as [[{kind}]] tables",
    "not_category": "{value!r} is not one of {known}",
    "not_code": "must be lowercase letters, digits, '_' or '-', starting with a letter (at most 40)",
    "not_strips": "must be a whole number of strips from 1 to 1000, not {value!r}",
    "ages_overlap": "[{low}, {high}] overlaps [{other_low}, {other_high}] of {other} (category {category})",
    "ages_overlap_code": "[{low}, {high}] overlaps [{other_low}, {other_high}] of {other} (code {code})",
    "code_taken": "{value!r} is already the code of {other}",
    "code_category": "must be {category}, as in {other} with the same code",
    "not_mid_year": 'must be "full" or "pro_rata", not {value!r}',
    "nothing_given": "a scheme needs at least one [[budget]], [[punchcard]] or [[cheque]]",
}


@dataclass(frozen=True)
class SchemeProblem:
    """One problem of a scheme file at its key path (``budget[2].amount``): a code of ``_PROBLEMS`` and its values."""

    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}: {_PROBLEMS[self.code].format(**self.params)}"


@dataclass
class _Problems:
    items: list[SchemeProblem] = field(default_factory=list)

    def add(self, path: str, code: str, /, **params: Any) -> None:
        # Positional only: a problem's parameters may themselves be called ``code`` (a punch card's).
        self.items.append(SchemeProblem(path, code, params))


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _date(raw: dict[str, Any], key: str, problems: _Problems) -> date | None:
    if key not in raw:
        problems.add(key, "missing")
        return None
    value = raw[key]
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.add(key, "not_date", value=value)
    return None


def _pct(value: object, path: str, problems: _Problems) -> int | None:
    """A percentage (``120`` or ``120.5``) in hundredths of a percent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.add(path, "not_pct", value=value)
        return None
    exact = Decimal(str(value)) * 100
    if exact != exact.to_integral_value() or not (0 < exact <= MAX_PCT * 100):
        problems.add(path, "pct_range", max=MAX_PCT)
        return None
    return int(exact)


def _euros(value: object, path: str, problems: _Problems) -> int | None:
    if not isinstance(value, str):
        problems.add(path, "amount_not_text", value=value)
        return None
    try:
        cents = parse_euros(value, strict=True)
    except InvalidAmount as exc:
        other_digits = exc.details.get("reason") == OTHER_DIGITS
        problems.add(path, "amount_other_digits" if other_digits else "not_amount", value=value)
        return None
    if cents <= 0:
        problems.add(path, "amount_not_positive")
        return None
    return cents


def _ages(value: object, path: str, problems: _Problems) -> tuple[int, int] | None:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(_is_int(v) for v in value)
        or not (0 <= value[0] <= value[1] <= MAX_AGE)
    ):
        problems.add(path, "not_ages", max=MAX_AGE)
        return None
    return value[0], value[1]


def _share(value: object, path: str, problems: _Problems) -> int | None:
    """A share such as ``0.5`` in basis points (at most four decimals)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.add(path, "not_share", value=value)
        return None
    try:
        exact = Decimal(str(value)) * 10_000
    except InvalidOperation:
        exact = Decimal(-1)
    if exact != exact.to_integral_value() or not (0 < exact <= 10_000):
        problems.add(path, "share_range", value=value)
        return None
    return int(exact)


def _unknown(raw: dict[str, Any], allowed: set[str], prefix: str, problems: _Problems) -> None:
    for key in sorted(set(raw) - allowed):
        problems.add(f"{prefix}{key}", "unknown_key")


def _items(raw: dict[str, Any], kind: str, problems: _Problems) -> list[tuple[str, ItemSpec]]:
    """The valid tables of one kind, each with its key path."""
    tables = raw.get(kind, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.add(kind, "not_tables", kind=kind)
        return []
    found: list[tuple[str, ItemSpec]] = []
    for number, table in enumerate(tables, start=1):
        path = f"{kind}[{number}]"
        before = len(problems.items)
        _unknown(table, _ITEM_KEYS[kind], f"{path}.", problems)
        for key in sorted(_ITEM_KEYS[kind] - set(table)):
            problems.add(f"{path}.{key}", "missing")
        category = table.get("category")
        if "category" in table and category not in CATEGORIES:
            problems.add(f"{path}.category", "not_category", value=category, known=", ".join(CATEGORIES))
        code = table.get("code")
        if "code" in table and not (isinstance(code, str) and _CODE.match(code)):
            problems.add(f"{path}.code", "not_code")
        ages = _ages(table["ages"], f"{path}.ages", problems) if "ages" in table else None
        strips = strip_value = None
        if kind == PUNCHCARD:
            strips = table.get("strips")
            if "strips" in table and not (_is_int(strips) and 1 <= strips <= 1000):
                problems.add(f"{path}.strips", "not_strips", value=strips)
            strip_value = _euros(table["strip_value"], f"{path}.strip_value", problems) if "strip_value" in table else None
            amount = strips * strip_value if _is_int(strips) and strip_value else None
        else:
            amount = _euros(table["amount"], f"{path}.amount", problems) if "amount" in table else None
        if len(problems.items) == before and ages is not None and amount is not None:
            spec = ItemSpec(
                kind, category, code if kind != BUDGET else None, amount,
                strips if kind == PUNCHCARD else None, strip_value, ages[0], ages[1],
            )
            found.append((path, spec))
    return found


def _check_overlaps(items: list[tuple[str, ItemSpec]], problems: _Problems) -> None:
    """Two entries for the same budget category, punch card or cheque may
    not both apply to one age: which one would the child get?"""
    for i, (path_a, a) in enumerate(items):
        for path_b, b in items[i + 1 :]:
            same = a.kind == b.kind and (a.category == b.category if a.kind == BUDGET else a.code == b.code)
            if same and a.age_min <= b.age_max and b.age_min <= a.age_max:
                ages = {"low": b.age_min, "high": b.age_max, "other_low": a.age_min, "other_high": a.age_max, "other": path_a}
                if a.kind == BUDGET:
                    problems.add(f"{path_b}.ages", "ages_overlap", **ages, category=a.category)
                else:
                    problems.add(f"{path_b}.ages", "ages_overlap_code", **ages, code=a.code)
    codes: dict[str, tuple[str, ItemSpec]] = {}
    for path, item in items:
        if item.code is None:
            continue
        first_path, first = codes.setdefault(item.code, (path, item))
        if first.kind != item.kind:
            problems.add(f"{path}.code", "code_taken", value=item.code, other=first_path)
        elif first.category != item.category:
            problems.add(f"{path}.category", "code_category", category=first.category, other=first_path)


def _invalid(problems: list[SchemeProblem]) -> SchemeInvalid:
    count = len(problems)
    return SchemeInvalid(
        f"the scheme file has {count} problem{'s' if count != 1 else ''}: " + "; ".join(map(str, problems)), problems,
    )


def _invalid_toml(problem: SchemeProblem) -> SchemeInvalid:
    reason = _PROBLEMS[problem.code].format(**problem.params)
    return SchemeInvalid(f"the scheme file is not valid TOML ({reason})", [problem])


def parse_scheme(text: str) -> SchemeSpec:
    """Validate a scheme file; ``SchemeInvalid`` lists every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Where the file goes wrong, from tomllib's message: it has no line or column attributes.
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if at:
            problem = SchemeProblem("file", "not_toml_at", {"reason": str(exc), "line": int(at[1]), "column": int(at[2])})
        elif "end of document" in str(exc):
            problem = SchemeProblem("file", "not_toml_end", {"reason": str(exc)})
        else:
            problem = SchemeProblem("file", "not_toml", {"reason": str(exc)})
        raise _invalid_toml(problem) from None
    except RecursionError:
        # tomllib recurses into nested arrays and tables; no scheme nests more than three deep.
        raise _invalid_toml(SchemeProblem("file", "too_deep")) from None
    except ValueError:
        # Python refuses to read an integer of more than 4,300 digits (not a TOMLDecodeError).
        raise _invalid_toml(SchemeProblem("file", "endless_number")) from None
    problems = _Problems()
    _unknown(raw, _TOP_KEYS, "", problems)

    municipality = raw.get("municipality")
    if not isinstance(municipality, str) or not municipality.strip():
        problems.add("municipality", "missing" if municipality is None else "not_municipality")
    year = raw.get("year")
    if not (_is_int(year) and 2000 <= year <= 2100):
        if year is None:
            problems.add("year", "missing")
        else:
            problems.add("year", "not_year", value=year)
    valid_from = _date(raw, "valid_from", problems)
    valid_until = _date(raw, "valid_until", problems)
    if valid_from and valid_until and valid_from > valid_until:
        problems.add("valid_until", "dates_reversed", until=valid_until, start=valid_from)
    if valid_from and _is_int(year) and valid_from.year != year:
        problems.add("valid_from", "outside_year", start=valid_from, year=year)

    mid_year = raw.get("mid_year", MID_YEAR_FULL)
    if mid_year not in MID_YEAR_RULES:
        problems.add("mid_year", "not_mid_year", value=mid_year)

    income_limit = None
    if "income_limit_pct" not in raw:
        problems.add("income_limit_pct", "missing")
    else:
        income_limit = _pct(raw["income_limit_pct"], "income_limit_pct", problems)

    bands: list[tuple[int, int]] = []
    scale = raw.get("sliding_scale", [])
    if not isinstance(scale, list) or not all(isinstance(b, dict) for b in scale):
        problems.add("sliding_scale", "not_scale")
        scale = []
    for number, band in enumerate(scale, start=1):
        path = f"sliding_scale[{number}]"
        _unknown(band, _BAND_KEYS, f"{path}.", problems)
        for key in sorted(_BAND_KEYS - set(band)):
            problems.add(f"{path}.{key}", "missing")
        up_to = _pct(band["up_to_pct"], f"{path}.up_to_pct", problems) if "up_to_pct" in band else None
        share = _share(band["share"], f"{path}.share", problems) if "share" in band else None
        if up_to is None or share is None:
            continue
        floor = bands[-1][0] if bands else income_limit
        if floor is not None and up_to <= floor:
            problems.add(f"{path}.up_to_pct", "band_not_above_band" if bands else "band_not_above_limit", floor=floor / 100)
        elif bands and share > bands[-1][1]:
            problems.add(f"{path}.share", "band_share_grows")
        else:
            bands.append((up_to, share))

    items: list[tuple[str, ItemSpec]] = []
    for kind in (BUDGET, PUNCHCARD, CHEQUE):
        items.extend(_items(raw, kind, problems))
    _check_overlaps(items, problems)
    if not any(raw.get(kind) for kind in (BUDGET, PUNCHCARD, CHEQUE)):
        problems.add("budget", "nothing_given")

    if problems.items:
        raise _invalid(problems.items)
    # No problem was found, so both were checked above.
    assert isinstance(municipality, str) and _is_int(year)
    assert valid_from is not None and valid_until is not None and income_limit is not None
    return SchemeSpec(
        municipality=municipality.strip().lower(),
        year=year,
        valid_from=valid_from,
        valid_until=valid_until,
        income_limit=income_limit,
        sliding_scale=tuple(bands),
        mid_year=mid_year,
        items=tuple(item for _path, item in items),
    )


@dataclass(frozen=True)
class LoadResult:
    scheme: Scheme
    outcome: str  # "created" | "updated" | "unchanged"


def load_scheme(session: Session, text: str, *, actor: Actor | None = None) -> LoadResult:
    """Create or update a municipality's scheme for a year from TOML text.

    With ``actor`` (an admin, or ``CLI_ACTOR``) a change is audited
    (``scheme.create`` / ``scheme.update`` with the year and digests); loading
    the same file again changes and records nothing. An admin loads only
    their own municipality's file (``scheme_other_municipality``), checked
    after the whole file (every problem at once) and before anything is read."""
    if actor is not None and actor.role != "system":
        ensure_role(actor, "admin")
    spec = parse_scheme(text)
    if actor is not None and actor.role != "system" and spec.municipality != actor.municipality_code:
        raise ValidationFailed(f"this scheme file is for municipality {spec.municipality!r}, not {actor.municipality_code!r}",
                               refusal="scheme_other_municipality", file_code=spec.municipality,
                               code=actor.municipality_code)
    municipality = session.execute(
        select(Municipality).where(Municipality.code == spec.municipality)
    ).scalar_one_or_none()
    if municipality is None:
        raise _invalid([SchemeProblem("municipality", "no_municipality", {"code": spec.municipality})])
    digest = spec.digest()
    scheme = session.execute(
        select(Scheme).where(Scheme.municipality_id == municipality.id, Scheme.year == spec.year).with_for_update()
    ).scalar_one_or_none()
    if scheme is not None and scheme.digest == digest:
        return LoadResult(scheme, "unchanged")
    before = scheme.digest if scheme is not None else None
    if scheme is not None:
        issued = session.execute(select(ChildPass.id).where(ChildPass.scheme_id == scheme.id).limit(1)).scalar()
        if issued is not None:
            raise SchemeLocked(
                f"passes for {municipality.code} {spec.year} have been issued under the current scheme; "
                "it can no longer change"
            )
        scheme.items.clear()
        session.flush()
        outcome = "updated"
    else:
        scheme = Scheme(municipality_id=municipality.id, year=spec.year)
        session.add(scheme)
        outcome = "created"
    scheme.valid_from = spec.valid_from
    scheme.valid_until = spec.valid_until
    scheme.income_limit = spec.income_limit
    scheme.sliding_scale = [list(band) for band in spec.sliding_scale]
    scheme.mid_year = spec.mid_year
    scheme.digest = digest
    scheme.updated_at = now_utc()
    scheme.items.extend(
        SchemeItem(
            position=position,
            kind=item.kind,
            category=item.category,
            code=item.code,
            amount_cents=item.amount_cents,
            strips=item.strips,
            strip_value_cents=item.strip_value_cents,
            age_min=item.age_min,
            age_max=item.age_max,
        )
        for position, item in enumerate(spec.items, start=1)
    )
    session.flush()
    if actor is not None:
        record_audit(
            session, actor, f"scheme.{'create' if outcome == 'created' else 'update'}", "scheme", scheme.id,
            before={"year": spec.year, "digest": before} if before else None,
            after={"year": spec.year, "digest": digest, "items": len(spec.items)},
            municipality_id=municipality.id,
        )
    return LoadResult(scheme, outcome)


def get_scheme(session: Session, municipality_id: int, year: int, *, code: str) -> Scheme:
    scheme = session.execute(
        select(Scheme).where(Scheme.municipality_id == municipality_id, Scheme.year == year)
    ).scalar_one_or_none()
    if scheme is None:
        raise NotFound(f"no scheme for {code} {year}: load one with 'pasdienst scheme load FILE.toml'")
    return scheme


def schemes_of(session: Session, municipality_id: int) -> list[Scheme]:
    """The municipality's schemes, newest year first, with their items loaded."""
    schemes = session.execute(
        select(Scheme).where(Scheme.municipality_id == municipality_id).order_by(Scheme.year.desc())
    ).scalars().all()
    for scheme in schemes:
        list(scheme.items)  # load them inside the session
    return list(schemes)


# -- as a file again -------------------------------------------------------------

def _pct_text(hundredths: int) -> str:
    return str(Decimal(hundredths) / 100)


def _share_text(basis_points: int) -> str:
    return str((Decimal(basis_points) / 10_000).normalize())


def _euro_text(cents: int) -> str:
    return f'"{cents // 100}.{cents % 100:02d}"'


def scheme_toml(scheme: Scheme, municipality_code: str) -> str:
    """A stored scheme written out as a scheme file: loading it again changes nothing."""
    lines = [
        f'municipality = "{municipality_code}"',
        f"year = {scheme.year}",
        f'valid_from = "{scheme.valid_from.isoformat()}"',
        f'valid_until = "{scheme.valid_until.isoformat()}"',
        f"income_limit_pct = {_pct_text(scheme.income_limit)}",
    ]
    if scheme.sliding_scale:
        bands = ", ".join(
            f"{{ up_to_pct = {_pct_text(up_to)}, share = {_share_text(share)} }}" for up_to, share in scheme.sliding_scale
        )
        lines.append(f"sliding_scale = [{bands}]")
    if scheme.mid_year != MID_YEAR_FULL:
        lines.append(f'mid_year = "{scheme.mid_year}"')
    for kind in (BUDGET, PUNCHCARD, CHEQUE):
        for item in sorted((i for i in scheme.items if i.kind == kind), key=lambda i: i.position):
            lines += ["", f"[[{kind}]]"]
            if item.code:
                lines.append(f'code = "{item.code}"')
            lines.append(f'category = "{item.category}"')
            if kind == PUNCHCARD:
                lines += [f"strips = {item.strips}", f"strip_value = {_euro_text(item.strip_value_cents or 0)}"]
            else:
                lines.append(f"amount = {_euro_text(item.amount_cents)}")
            lines.append(f"ages = [{item.age_min}, {item.age_max}]")
    return "\n".join(lines) + "\n"


def example_scheme(municipality_code: str, year: int) -> str:
    """The commented example scheme file (``demo_data/regeling-voorbeeld.toml``)
    for this municipality and year, to start from."""
    text = (resources.files("pasdienst") / "demo_data" / EXAMPLE).read_text(encoding="utf-8")
    text = re.sub(r'^municipality = "[^"]*"', f'municipality = "{municipality_code}"', text, count=1, flags=re.M)
    text = re.sub(r"^year = \d{4}", f"year = {year}", text, count=1, flags=re.M)
    text = re.sub(r'^valid_from = "\d{4}-', f'valid_from = "{year}-', text, count=1, flags=re.M)
    return re.sub(r'^valid_until = "\d{4}-', f'valid_until = "{year}-', text, count=1, flags=re.M)

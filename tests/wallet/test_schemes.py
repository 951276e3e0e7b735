"""Scheme files: every problem reported with its key path, all or nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from pasdienst.wallet.errors import SchemeInvalid, SchemeLocked
from pasdienst.wallet.models import Scheme, SchemeItem
from pasdienst.wallet.schemes import SchemeProblem, parse_scheme
from pasdienst.web.dutch import scheme_problem
from pasdienst.wallet.services import load_scheme

from .helpers import SCHEME, municipality

# Each case breaks one rule of the file; the key path must name the spot.
BROKEN = [
    ("unknown top-level key", SCHEME.replace("year = 2027", "year = 2027\ncolour = 'blue'"), "colour: is not a known key"),
    ("unknown key in a table", SCHEME.replace('amount = "150.00"', 'amount = "150.00"\nnote = "x"'), "budget[1].note: is not a known key"),
    ("amount without decimals", SCHEME.replace('"150.00"', '"150"'), "budget[1].amount: must be a euro amount"),
    ("amount as a number", SCHEME.replace('"150.00"', "150.00"), "budget[1].amount: must be a euro amount as a string"),
    ("amount in Arabic-Indic digits", SCHEME.replace('"150.00"', '"١٥٠.٠٠"'),
     "budget[1].amount: must be a euro amount with two decimals written with the digits 0-9"),
    ("amount with thousands", SCHEME.replace('"150.00"', '"1.150,00"'), "budget[1].amount: must be a euro amount"),
    ("strip value with three decimals", SCHEME.replace('"4.50"', '"4.505"'), "punchcard[1].strip_value"),
    ("dates out of order", SCHEME.replace('valid_until = "2027-12-31"', 'valid_until = "2026-12-31"'), "valid_until: 2026-12-31 is before valid_from"),
    ("not a date", SCHEME.replace('"2027-12-31"', '"31-12-2027"'), "valid_until: must be a date"),
    ("category outside the list", SCHEME.replace('category = "clothing"', 'category = "sweets"'), "cheque[1].category: 'sweets' is not one of"),
    ("ages reversed", SCHEME.replace("ages = [0, 17]", "ages = [17, 0]"), "cheque[1].ages: must be [youngest, oldest]"),
    ("sliding band below the limit", SCHEME.replace("up_to_pct = 130", "up_to_pct = 110"), "sliding_scale[1].up_to_pct: must be above income_limit_pct"),
    ("share above one", SCHEME.replace("share = 0.5", "share = 1.5"), "sliding_scale[1].share"),
    ("missing key", SCHEME.replace("income_limit_pct = 120\n", ""), "income_limit_pct: is missing"),
    ("strips not whole", SCHEME.replace("strips = 10", "strips = 2.5"), "punchcard[1].strips"),
]


@pytest.mark.parametrize("name, text, expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_scheme_file_names_the_problem_by_key_path(name, text, expected):
    with pytest.raises(SchemeInvalid) as refused:
        parse_scheme(text)
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems


def test_overlapping_age_brackets_of_one_budget_category_are_refused():
    text = SCHEME + '\n[[budget]]\ncategory = "sport_culture"\namount = "20.00"\nages = [12, 18]\n'
    with pytest.raises(SchemeInvalid) as refused:
        parse_scheme(text)
    assert refused.value.problems == ["budget[2].ages: [12, 18] overlaps [4, 17] of budget[1] (category sport_culture)"]


def test_overlapping_age_brackets_of_one_punch_card_are_refused_naming_its_code():
    text = SCHEME + '\n[[punchcard]]\ncode = "zwemmen"\ncategory = "sport_culture"\nstrips = 5\nstrip_value = "4.50"\nages = [12, 18]\n'
    with pytest.raises(SchemeInvalid) as refused:
        parse_scheme(text)
    assert refused.value.problems == ["punchcard[2].ages: [12, 18] overlaps [4, 17] of punchcard[1] (code zwemmen)"]
    assert "(code zwemmen)" in scheme_problem(refused.value.found[0])


def test_brackets_that_touch_but_do_not_overlap_are_fine():
    text = SCHEME.replace("ages = [4, 17]\n\n[[punchcard]]", "ages = [4, 11]\n\n[[punchcard]]", 1)
    text += '\n[[budget]]\ncategory = "sport_culture"\namount = "200.00"\nages = [12, 17]\n'
    spec = parse_scheme(text)
    budgets = [(i.age_min, i.age_max, i.amount_cents) for i in spec.items if i.kind == "budget"]
    assert budgets == [(4, 11, 15000), (12, 17, 20000)]


def test_every_problem_is_reported_at_once():
    text = SCHEME.replace('"150.00"', '"150"').replace('category = "clothing"', 'category = "sweets"').replace("year = 2027", "year = 2027\nextra = 1")
    with pytest.raises(SchemeInvalid) as refused:
        parse_scheme(text)
    paths = sorted(p.split(":")[0] for p in refused.value.problems)
    assert paths == ["budget[1].amount", "cheque[1].category", "extra"]
    assert refused.value.message.startswith("the scheme file has 3 problems: ")


def test_a_file_that_is_not_toml_is_one_clear_error():
    with pytest.raises(SchemeInvalid, match="not valid TOML"):
        parse_scheme("municipality = opsterland\n[[[")


def test_a_valid_file_becomes_amounts_in_cents_and_shares_in_basis_points():
    spec = parse_scheme(SCHEME)
    assert spec.income_limit == 12000 and spec.sliding_scale == ((13000, 5000),)
    punch = next(i for i in spec.items if i.kind == "punchcard")
    assert (punch.strips, punch.strip_value_cents, punch.amount_cents) == (10, 450, 4500)


def test_loading_the_same_file_again_changes_nothing(db):
    with db.transaction() as s:
        municipality(s)
        first = load_scheme(s, SCHEME)
        assert first.outcome == "created"
    with db.transaction() as s:
        again = load_scheme(s, SCHEME + "\n# a comment changes nothing\n")
        assert again.outcome == "unchanged"
        assert s.execute(select(func.count()).select_from(SchemeItem)).scalar_one() == 3
        assert again.scheme.updated_at == first.scheme.updated_at


def test_a_changed_file_updates_the_scheme_while_no_pass_is_issued(db):
    with db.transaction() as s:
        municipality(s)
        load_scheme(s, SCHEME)
    with db.transaction() as s:
        result = load_scheme(s, SCHEME.replace('"150.00"', '"160.00"'))
        assert result.outcome == "updated"
    with db.read() as s:
        amounts = s.execute(select(SchemeItem.amount_cents).order_by(SchemeItem.position)).scalars().all()
        assert amounts == [16000, 4500, 7501]
        assert s.execute(select(func.count()).select_from(Scheme)).scalar_one() == 1


@pytest.mark.money
def test_a_scheme_with_issued_passes_no_longer_changes(db, settings):
    from .helpers import issued

    issued(db, settings)
    with pytest.raises(SchemeLocked, match="can no longer change"), db.transaction() as s:
        load_scheme(s, SCHEME.replace('"150.00"', '"160.00"'))
    with db.read() as s:
        assert s.execute(select(SchemeItem.amount_cents).order_by(SchemeItem.position)).scalars().first() == 15000
    with db.transaction() as s:
        assert load_scheme(s, SCHEME).outcome == "unchanged"


def test_a_scheme_for_an_unknown_municipality_is_refused_and_nothing_stored(db):
    with pytest.raises(SchemeInvalid, match="no municipality 'opsterland'"), db.transaction() as s:
        load_scheme(s, SCHEME)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Scheme)).scalar_one() == 0


def test_scheme_load_on_the_command_line(cli, db, tmp_path):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    good = tmp_path / "scheme.toml"
    good.write_text(SCHEME)
    assert "scheme created: 3 entitlements" in cli("scheme", "load", str(good)).stdout
    assert "scheme unchanged" in cli("scheme", "load", str(good)).stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(SCHEME.replace('"150.00"', '"150"').replace("ages = [0, 17]", "ages = [17, 0]"))
    result = cli("scheme", "load", str(bad), ok=False)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "budget[1].amount" in result.stderr and "cheque[1].ages" in result.stderr
    missing = cli("scheme", "load", str(tmp_path / "nope.toml"), ok=False)
    assert missing.exit_code == 1 and "no file" in missing.stderr


def test_a_dutch_amount_with_a_comma_is_read_as_euros_and_cents():
    spec = parse_scheme(SCHEME.replace('"75.01"', '"75,01"').replace('"150.00"', '"150,00"'))
    assert sorted(item.amount_cents for item in spec.items if item.kind != "punchcard") == [7501, 15000]


# The back office says each problem in Dutch, at the same key path.
DUTCH = [
    (SCHEME.replace('"150.00"', '"150"'), 'budget[1].amount: moet een bedrag met twee decimalen zijn, bijvoorbeeld "150,00", niet \'150\''),
    (SCHEME.replace("year = 2027", "year = 2027\ncolour = 'blue'"), "colour: is geen bekende sleutel"),
    (SCHEME.replace("income_limit_pct = 120\n", ""), "income_limit_pct: ontbreekt"),
    (SCHEME.replace("up_to_pct = 130", "up_to_pct = 110"), "sliding_scale[1].up_to_pct: moet hoger zijn dan income_limit_pct (120)"),
    (SCHEME.replace('category = "clothing"', 'category = "sweets"'), "cheque[1].category: 'sweets' is geen van deze categorieën"),
    (SCHEME.replace('valid_until = "2027-12-31"', 'valid_until = "2026-12-31"'), "valid_until: 2026-12-31 ligt vóór valid_from 2027-01-01"),
    ("year = 2027\nyear = 2028\n", "Het bestand is geen geldige TOML-tekst (regel 2, kolom 12)"),
    ("year = ", "Het bestand is geen geldige TOML-tekst (aan het eind)"),
]


@pytest.mark.parametrize("text, expected", DUTCH)
def test_every_problem_has_a_dutch_text_for_the_back_office(text, expected):
    with pytest.raises(SchemeInvalid) as refused:
        parse_scheme(text)
    dutch = [scheme_problem(problem) for problem in refused.value.found]
    assert any(line.startswith(expected) for line in dutch), dutch


def test_each_problem_code_has_an_english_and_a_dutch_text():
    from pasdienst.wallet.schemes import _PROBLEMS

    for code, english in _PROBLEMS.items():
        names = set(re.findall(r"\{(\w+)", english)) | {"line", "column"}
        dutch = scheme_problem(SchemeProblem("file", code, {name: 1.5 for name in names}))
        assert english and dutch and english != dutch, code

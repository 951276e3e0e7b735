"""Importing the municipality's children export (CONTRACT.md, "Children CSV")."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from pasdienst.wallet import keys
from pasdienst.wallet.children import elfproef, parse_date, parse_income
from pasdienst.wallet.errors import ImportFileInvalid
from pasdienst.wallet.models import Child
from pasdienst.wallet.services import import_children

from .helpers import BSNS, CODE, HEADER, TODAY, counts, csv_of, municipality

SAMPLE = Path(__file__).resolve().parents[2] / "pasdienst" / "demo_data" / "sample-children.csv"


@pytest.fixture
def town(db):
    with db.transaction() as s:
        municipality(s, fund="")
    return db


def run(db, settings, data: bytes, *, dry_run: bool = False, today: date = TODAY):
    with db.transaction() as s:
        return import_children(s, CODE, data, settings=settings, today=today, dry_run=dry_run)


def children(db) -> dict[str, Child]:
    with db.read() as s:
        return {c.child_ref: c for c in s.execute(select(Child)).scalars()}


def test_the_sample_export_imports_its_good_rows_and_rejects_the_three_bad_ones(town, settings):
    result = run(town, settings, SAMPLE.read_bytes(), today=date(2027, 1, 15))
    assert (result.imported, result.updated, len(result.rejected)) == (30, 0, 3)
    reasons = {r.cells.get("first_name"): r.reason for r in result.rejected}
    assert reasons == {
        "Datum": "birth_date '2015-13-01' is not a real date",
        "Zonderref": "child_ref is missing",
        "Elfproef": "bsn is not a valid BSN (it fails the elfproef)",
    }
    stored = children(town)
    assert stored["VB-0001"].birth_date == date(2025, 12, 30)  # DD-MM-YYYY
    assert stored["VB-0003"].birth_date == date(2026, 9, 11)  # YYYY-MM-DD
    assert stored["VB-0001"].override_reason == "keukentafelgesprek gebiedsteam"


def test_reimporting_the_same_file_imports_nothing_and_updates_nothing(town, settings):
    run(town, settings, SAMPLE.read_bytes())
    before = children(town)
    again = run(town, settings, SAMPLE.read_bytes())
    assert (again.imported, again.updated, len(again.rejected), again.unchanged) == (0, 0, 3, 30)
    assert {k: c.updated_at for k, c in children(town).items()} == {k: c.updated_at for k, c in before.items()}


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t: t.encode("utf-8"), id="utf-8 without BOM"),
        pytest.param(lambda t: ("\ufeff" + t).encode("utf-8"), id="utf-8 with BOM"),
        pytest.param(lambda t: t.replace(";", ",").encode("utf-8"), id="comma delimited"),
        pytest.param(lambda t: t.replace("\n", "\r\n").encode("utf-8"), id="windows line ends"),
        pytest.param(lambda t: t.encode("cp1252"), id="windows-1252 from Excel"),
    ],
)
def test_the_file_is_read_whatever_its_encoding_and_delimiter(town, settings, encode):
    body = "\n".join([
        "Child_Ref ; FIRST_NAME;Birth_Date;household_ref;Income_Pct;override_reason;bsn;email;postcode",
        f" K-1 ;  Zoë ; 01-06-2017 ;H1; 115% ;;{BSNS[0]};;9251 aa",
        f"K-2;Omar;2014-03-20;H1; 120 ;;{BSNS[1]}; omar@example.nl ;",
    ]) + "\n"
    result = run(town, settings, encode(body))
    assert (result.imported, len(result.rejected)) == (2, 0), result.rejected
    stored = children(town)
    assert stored["K-1"].first_name == "Zoë" and stored["K-1"].postcode == "9251 AA"
    assert stored["K-1"].birth_date == date(2017, 6, 1)
    assert keys.open_income(settings, stored["K-1"].income_sealed) == 11500
    assert stored["K-2"].email == "omar@example.nl"


@pytest.mark.parametrize(
    "row, reason",
    [
        ("K-9;Nora;2017-02-30;;100;;;;", "is not a real date"),
        ("K-9;Nora;1-2;;100;;;;", "is not YYYY-MM-DD or DD-MM-YYYY"),
        ("K-9;Nora;2030-01-01;;100;;;;", "lies in the future"),
        ("K-9;;2017-01-01;;100;;;;", "first_name is missing"),
        ("K-9;Nora;;;100;;;;", "birth_date is missing"),
        ("K-9;Nora;2017-01-01;;honderd;;;;", "income_pct 'honderd' is not a percentage"),
        ("K-9;Nora;2017-01-01;;1,15;;;;", "income_pct '1,15' looks like a ratio"),
        ("K-9;Nora;2017-01-01;;0.9;;;;", "income_pct '0.9' looks like a ratio"),
        ("K-9;Nora;2017-01-01;;100;;123456789;;", "fails the elfproef"),
        ("K-9;Nora;2017-01-01;;100;;;geen-mail;", "email is not an e-mail address"),
        ("K-9;Nora;2017-01-01;;100;;;;ABCD 12", "postcode is not a Dutch postcode"),
        ("K-9;Nora;2017-01-01;;100;;", "the row has 7 fields where the header has 9"),
    ],
)
def test_a_bad_row_is_rejected_as_a_whole_with_its_reason(town, settings, row, reason):
    result = run(town, settings, csv_of("K-1;Omar;2014-03-20;;100;;;;", row))
    assert result.imported == 1
    assert [r.line for r in result.rejected] == [3]
    assert reason in result.rejected[0].reason
    assert set(children(town)) == {"K-1"}


def test_a_child_ref_twice_in_one_file_keeps_the_first_row(town, settings):
    result = run(town, settings, csv_of("K-1;Omar;2014-03-20;;100;;;;", "K-1;Other;2015-03-20;;100;;;;"))
    assert result.imported == 1
    assert result.rejected[0].reason == "child_ref K-1 is already on line 2"
    assert children(town)["K-1"].first_name == "Omar"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not CSV text"),
        (bytes(range(1, 32)) * 50, "not CSV text"),
        (b"name;date\nNora;2017-01-01\n", "has no column child_ref, first_name, birth_date"),
        (b"child_ref;first_name;birth_date;first_name\nK;N;2017-01-01;M\n", "names the column first_name twice"),
    ],
)
def test_a_file_that_is_not_a_children_csv_is_one_error_and_changes_nothing(town, settings, data, message):
    with pytest.raises(ImportFileInvalid, match=message):
        run(town, settings, data)
    with town.read() as s:
        assert counts(s)["children"] == 0


def test_a_dry_run_writes_nothing(town, settings):
    result = run(town, settings, SAMPLE.read_bytes(), dry_run=True)
    assert (result.imported, result.updated, len(result.rejected)) == (30, 0, 3)
    assert children(town) == {}


def test_a_changed_row_updates_the_child(town, settings):
    run(town, settings, csv_of("K-1;Omar;2014-03-20;;100;;;;", "K-2;Nora;2017-01-01;;100;;;;"))
    result = run(town, settings, csv_of("K-1;Omar;2014-03-20;;125;;;;", "K-2;Nora;2017-01-01;;100;;;;"))
    assert (result.imported, result.updated, result.unchanged) == (0, 1, 1)
    assert keys.open_income(settings, children(town)["K-1"].income_sealed) == 12500


def test_a_renumbered_child_is_recognised_by_its_bsn(town, settings):
    run(town, settings, csv_of(f"OLD-1;Omar;2014-03-20;;100;;{BSNS[0]};;"))
    result = run(town, settings, csv_of(f"NEW-1;Omar;2014-03-20;;100;;{BSNS[0]};;"))
    assert (result.imported, result.updated) == (0, 1)
    stored = children(town)
    assert set(stored) == {"NEW-1"}


def test_the_same_bsn_for_a_different_child_is_rejected(town, settings):
    run(town, settings, csv_of(f"K-1;Omar;2014-03-20;;100;;{BSNS[0]};;", "K-2;Nora;2017-01-01;;100;;;;"))
    result = run(town, settings, csv_of(f"K-2;Nora;2017-01-01;;100;;{BSNS[0]};;"))
    assert result.updated == 0
    assert result.rejected[0].reason == "the bsn belongs to another child (K-1)"


def test_the_bsn_is_kept_only_as_a_keyed_hash_and_the_income_only_encrypted(town, settings):
    run(town, settings, csv_of(f"K-1;Omar;2014-03-20;;117;;{BSNS[0]};;"))
    with town.read() as s:
        dump = " ".join(
            str(value)
            for table in ("wallet_child",)
            for row in s.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    assert BSNS[0] not in dump
    assert "117" not in dump.split()  # whole values: the BSN's hash is hex and may hold the digits
    child = children(town)["K-1"]
    assert child.bsn_hash == keys.bsn_hash(settings, BSNS[0])
    assert keys.open_income(settings, child.income_sealed) == 11700


def test_the_bsn_hash_survives_a_key_rotation(town, settings):
    from dataclasses import replace

    run(town, settings, csv_of(f"OLD-1;Omar;2014-03-20;;100;;{BSNS[0]};;"))
    rotated = replace(settings, secret_keys=(*settings.secret_keys, "a-brand-new-key-0123456789"))
    again = run(town, rotated, csv_of(f"OLD-1;Omar;2014-03-20;;100;;{BSNS[0]};;"))
    assert (again.imported, again.updated) == (0, 0)
    moved = run(town, rotated, csv_of(f"NEW-1;Omar;2014-03-20;;100;;{BSNS[0]};;"))
    assert moved.updated == 1
    assert keys.open_income(rotated, children(town)["NEW-1"].income_sealed) == 10000


def test_an_eight_digit_bsn_gets_its_leading_zero_back():
    assert elfproef("012345672") and not elfproef("12345672")


@pytest.mark.parametrize("bsn, ok", [("111222333", True), ("123456782", True), ("123456780", False), ("000000000", False)])
def test_the_elfproef(bsn, ok):
    assert elfproef(bsn) is ok


@pytest.mark.parametrize("raw, cents", [("115", 11500), ("115%", 11500), ("115 %", 11500), ("115,5", 11550), ("99.25", 9925)])
def test_income_is_read_with_or_without_a_percent_sign(raw, cents):
    assert parse_income(raw) == cents


@pytest.mark.parametrize("raw, day", [("2017-06-01", date(2017, 6, 1)), ("01-06-2017", date(2017, 6, 1)), ("1/6/2017", date(2017, 6, 1))])
def test_birth_dates_in_either_order(raw, day):
    assert parse_date(raw) == day


def test_children_import_on_the_command_line(cli, db, tmp_path):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    source = tmp_path / "kinderen.csv"
    source.write_bytes(SAMPLE.read_bytes())
    env = {"PASDIENST_TODAY": "2027-01-15"}
    dry = cli("children", "import", "opsterland", str(source), "--dry-run", env=env)
    assert dry.stdout.splitlines()[-1] == "imported 30, updated 0, rejected 3"
    rejected_file = tmp_path / "kinderen.rejected.csv"
    assert not rejected_file.exists()
    with db.read() as s:
        assert counts(s)["children"] == 0
    result = cli("children", "import", "opsterland", str(source), env=env)
    assert result.stdout.splitlines()[-1] == "imported 30, updated 0, rejected 3"
    rows = list(csv.DictReader(rejected_file.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert [r["child_ref"] for r in rows] == ["VB-BAD1", "", "VB-BAD3"]
    assert rows[2]["reason"] == "bsn is not a valid BSN (it fails the elfproef)"
    # The rejected file is a to-do list, not a copy of citizens' numbers.
    assert rows[2]["bsn"] == "" and "123456780" not in rejected_file.read_text(encoding="utf-8-sig")
    again = cli("children", "import", "opsterland", str(source), env=env)
    assert again.stdout.splitlines()[-1] == "imported 0, updated 0, rejected 3"


def test_the_rejected_file_cannot_carry_a_spreadsheet_formula(cli, tmp_path):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    source = tmp_path / "kids.csv"
    source.write_text(HEADER + "\n=HYPERLINK(\"http://x\");Nora;2017-13-01;;100;;;;\n", encoding="utf-8")
    cli("children", "import", "opsterland", str(source), env={"PASDIENST_TODAY": "2027-01-15"})
    written = (tmp_path / "kids.rejected.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in written


def test_a_file_that_is_not_csv_fails_with_one_line_on_the_command_line(cli, db, tmp_path):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    result = cli("children", "import", "opsterland", str(binary), ok=False)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "not CSV text" in result.stderr
    with db.read() as s:
        assert counts(s)["children"] == 0

"""CSV exports cannot smuggle formulas into a spreadsheet."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from pasdienst.csvsafe import csv_bytes, safe_cell, write_csv

HOSTILE = [
    "=1+1",
    "=HYPERLINK(\"http://evil.example\",\"klik\")",
    "+31612345678",
    "-2+3+cmd|' /C calc'!A0",
    "-1+2",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "-",
    "=",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_could_start_a_formula_gets_an_apostrophe(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "-12,50", "-3", "-0", "12.50", "1234,56"])
def test_a_plain_number_is_left_as_a_number(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize(
    ("value", "cell"),
    [(-1250, "-1250"), (0, "0"), (Decimal("-12.50"), "-12.50"), (None, ""), (True, "true"), (False, "false")],
)
def test_numbers_and_empty_values_we_produce_are_written_plainly(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.parametrize("value", ["Jansen", "Jansen =1+1", "Café – ‘t Hoekje", "", "12-05-2027", "a;b", 'zei "hoi"'])
def test_harmless_text_is_left_alone(value):
    assert safe_cell(value) == value


def _read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_file_is_utf8_with_bom_and_semicolons():
    data = csv_bytes(["naam", "bedrag"], [["Café ‘t Hoekje", "12,50"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data == "\ufeffnaam;bedrag\r\nCafé ‘t Hoekje;12,50\r\n".encode()


def test_every_hostile_value_reads_back_neutralised_and_intact():
    data = csv_bytes(["name", "note"], [[value, "a;b\n\"c\""] for value in HOSTILE])
    rows = _read(data)
    assert rows[0] == ["name", "note"]
    assert [row[0] for row in rows[1:]] == ["'" + value for value in HOSTILE]
    assert all(row[1] == "a;b\n\"c\"" for row in rows[1:])


def test_a_hostile_header_is_neutralised_too():
    assert _read(csv_bytes(["=cmd", "ok"], []))[0] == ["'=cmd", "ok"]


def test_write_csv_to_a_path(tmp_path):
    path = tmp_path / "lines.csv"
    assert write_csv(path, ["a", "b"], [["=1", 2], ["x", None]]) == 2
    assert _read(path.read_bytes()) == [["a", "b"], ["'=1", "2"], ["x", ""]]


def test_write_csv_to_open_text_and_binary_files():
    text = io.StringIO(newline="")
    assert write_csv(text, ["a"], [["@x"]], delimiter=",") == 1
    assert text.getvalue() == "\ufeffa\r\n'@x\r\n"
    binary = io.BytesIO()
    assert write_csv(binary, ["a"], [["@x"]]) == 1
    assert binary.getvalue() == "\ufeffa\r\n'@x\r\n".encode()


def test_a_failing_row_leaves_no_file_and_keeps_the_old_one(tmp_path):
    def rows():
        yield ["ok"]
        raise RuntimeError("database went away")

    new = tmp_path / "new.csv"
    with pytest.raises(RuntimeError, match="database went away"):
        write_csv(new, ["a"], rows())
    assert not new.exists()

    old = tmp_path / "old.csv"
    old.write_bytes(b"previous export")
    with pytest.raises(RuntimeError):
        write_csv(old, ["a"], rows())
    assert old.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]  # no temporary file left behind

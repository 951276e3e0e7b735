"""Municipalities and budgets through the command line."""
from __future__ import annotations

import pytest

from pasdienst.municipalities.services import budget_figures

pytestmark = pytest.mark.money


def test_add_a_municipality_and_top_up_its_fund(cli, db):
    result = cli("municipality", "add", "opsterland", "--name", "Gemeente Opsterland", "--iban", "NL91 ABNA 0417 1643 00")
    assert result.stdout.splitlines()[-1] == "opsterland"
    result = cli("budget", "topup", "opsterland", "25000.00", "--reference", "raadsbesluit 12")
    transfer_id = result.stdout.splitlines()[-1]
    assert len(transfer_id) == 36
    with db.read() as s:
        figures = budget_figures(s, "opsterland")
    assert figures.topped_up == 2500000 and figures.available == 2500000
    shown = cli("budget", "show", "opsterland").stdout
    assert "topped up" in shown and "25000.00" in shown


@pytest.mark.parametrize("amount", ["1.000,00", "-5", "abc", "0.00", "10", "12.345"])
def test_malformed_top_ups_are_refused_with_one_line_and_change_nothing(cli, db, amount):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    result = cli("budget", "topup", "opsterland", amount, "--reference", "x", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    with db.read() as s:
        assert budget_figures(s, "opsterland").topped_up == 0


@pytest.mark.parametrize("amount", ["١٥٠٠٠.٠٠", "２５０００.００", "25000.0٠"])
def test_a_top_up_in_other_digits_is_refused_with_one_clear_line(cli, db, amount):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    result = cli("budget", "topup", "opsterland", amount, "--reference", "x", ok=False)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "type it with the digits 0-9" in result.stderr
    with db.read() as s:
        assert budget_figures(s, "opsterland").topped_up == 0


def test_a_top_up_needs_a_known_municipality_and_a_reference(cli):
    assert "no municipality" in cli("budget", "topup", "nergens", "10.00", "--reference", "x", ok=False).stderr
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    assert "reference" in cli("budget", "topup", "opsterland", "10.00", "--reference", " ", ok=False).stderr


def test_a_municipality_with_a_wrong_iban_is_refused(cli, db):
    result = cli("municipality", "add", "opsterland", "--name", "Opsterland", "--iban", "NL02RABO0123456789", ok=False)
    assert result.exit_code == 1 and "check digits" in result.stderr
    assert "already exists" not in cli("municipality", "add", "opsterland", "--name", "Opsterland").output


def test_a_municipality_code_is_unique(cli):
    cli("municipality", "add", "opsterland", "--name", "Opsterland")
    assert "already exists" in cli("municipality", "add", "opsterland", "--name", "Other", ok=False).stderr

"""The one rule for short texts, web addresses, e-mail addresses and phone numbers that families read."""
from __future__ import annotations

import pytest

from pasdienst import fields
from pasdienst.fields import FieldRefused
from pasdienst.web import dutch


@pytest.mark.parametrize("typed, stored", [
    ("desprint.nl", "https://desprint.nl"),
    (" www.desprint.nl/jeugd?x=1 ", "https://www.desprint.nl/jeugd?x=1"),
    ("http://zwembad-degolf.nl", "http://zwembad-degolf.nl"),
    ("https://münchen.de", "https://münchen.de"),
    ("", None),
])
def test_a_web_address_is_stored_with_its_scheme(typed, stored):
    assert fields.website(typed) == stored


@pytest.mark.parametrize("typed", [
    "javascript:alert(1)", "ftp://x.nl", "https://localhost", "https://user:pw@x.nl", "x", "a b.nl",
    "https://x.nl:abc/", "https://-x.nl", "https://[[[[[[]]]]]]", "https://[::1]/", "https://x.nl/\x00", "x" * 301,
])
def test_anything_else_is_refused_with_a_dutch_reason(typed):
    with pytest.raises(FieldRefused) as refused:
        fields.website(typed)
    assert refused.value.field == "website" and dutch.refusal(refused.value).startswith("Het webadres")


@pytest.mark.parametrize("typed, ok", [
    ("0513 123 456", True), ("14 0513", True), ("+31 513 123456", True), ("(0513) 12-34-56", True),
    ("abc", False), ("12", False), ("٠٥١٣١٢٣٤٥٦", False), ("0513\x00123456", False),
])
def test_a_phone_number(typed, ok):
    if ok:
        assert fields.phone(typed) == typed
    else:
        with pytest.raises(FieldRefused):
            fields.phone(typed)


def test_short_text_collapses_whitespace_and_refuses_control_characters_and_length():
    assert fields.short_text("  Zwemles \n en  vrij zwemmen ", field="offer", limit=40) == (
        "Zwemles en vrij zwemmen"
    )
    assert fields.short_text("   ", field="offer", limit=40) is None
    for bad in ("a\x00b", "x" * 41):
        with pytest.raises(FieldRefused):
            fields.short_text(bad, field="offer", limit=40)


@pytest.mark.parametrize("typed, cents", [("2500,00", 250000), ("12.5", 1250), ("7", 700)])
def test_an_amount_typed_in_euros_is_read_as_cents(typed, cents):
    assert fields.euros(typed, field="amount") == cents


@pytest.mark.parametrize("typed, refusal", [("٢٥", "amount_other_digits"), ("twaalf", "amount_not_euros"),
                                            ("0", "amount_not_euros")])
def test_an_amount_that_is_not_euros_is_refused_naming_what_was_typed(typed, refusal):
    with pytest.raises(FieldRefused) as refused:
        fields.euros(typed, field="amount")
    assert refused.value.refusal == refusal and typed in dutch.refusal(refused.value)


def test_a_warning_level_may_be_nothing():
    assert fields.euros("0", field="threshold", positive=False) == 0

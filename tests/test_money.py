import pytest

from pasdienst.labels import euros
from pasdienst.money import OTHER_DIGITS, InvalidAmount, format_euros, parse_euros, positive_cents
from tests.text import spaced


@pytest.mark.parametrize(
    "text, cents",
    [("12,50", 1250), ("12.50", 1250), ("12", 1200), ("0,5", 50), (" 7.05 ", 705), ("25000.00", 2500000)],
)
def test_amounts_people_type_become_cents(text, cents):
    assert parse_euros(text) == cents


@pytest.mark.parametrize("text", ["1.000,00", "1,000.00", "-5", "abc", "", "12.505", "€12", "1e3", "12 50"])
def test_ambiguous_or_malformed_amounts_are_refused(text):
    with pytest.raises(InvalidAmount):
        parse_euros(text)


@pytest.mark.parametrize("text", ["١٥٠", "١٥٠,٥٠", "۱۵۰", "１５０", "1５0", "१५०", "12,5٠", "²"])
@pytest.mark.parametrize("strict", [False, True])
def test_digits_other_than_0_to_9_are_refused_with_their_own_reason(text, strict):
    # int("١٥٠") is 150: a regex's \d and int() would take it.
    with pytest.raises(InvalidAmount, match="digits 0-9") as refused:
        parse_euros(text, strict=strict)
    assert refused.value.details["reason"] == OTHER_DIGITS


def test_strict_amounts_need_two_decimals_after_a_point_or_a_dutch_comma():
    assert parse_euros("25000.00", strict=True) == 2500000
    assert parse_euros("150,00", strict=True) == 15000
    for text in ("25000", "25000.0", "25000,0", "1.500,00", "1,500.00"):
        with pytest.raises(InvalidAmount):
            parse_euros(text, strict=True)


def test_zero_is_not_a_positive_amount():
    with pytest.raises(InvalidAmount, match="more than 0.00"):
        positive_cents("0.00")


def test_formatting():
    assert format_euros(1250) == "12.50"
    assert spaced(euros(123456789)) == "€ 1.234.567,89"
    assert euros(-5) == "€\xa0-0,05"  # a no-break space: the sign never ends a line without its amount
    assert format_euros(-5) == "-0.05"

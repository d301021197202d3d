from decimal import Decimal

import pytest
from ledgerly import CurrencyMismatch, Money


def test_parse_and_str():
    assert str(Money.parse("12.5 EUR")) == "12.50 EUR"
    assert Money.parse("-3 USD").amount == Decimal("-3.00")


@pytest.mark.parametrize(
    "text",
    ["12 eur", "1.234 EUR", "EUR 12", ""],
    ids=["lowercase-code", "three-places", "code-first", "empty"],
)
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        Money.parse(text)


def test_rounds_to_cents():
    assert Money(Decimal("1.005"), "EUR").amount == Decimal("1.01")


def test_arithmetic():
    a, b = Money.parse("10.00 EUR"), Money.parse("2.50 EUR")
    assert a + b == Money.parse("12.50 EUR")
    assert a - b == Money.parse("7.50 EUR")
    assert -b == Money.parse("-2.50 EUR")
    assert b < a


def test_currency_mismatch():
    with pytest.raises(CurrencyMismatch):
        Money.parse("1.00 EUR") + Money.parse("1.00 USD")


def test_allocate_even():
    assert Money.parse("9.00 EUR").allocate(3) == [Money.parse("3.00 EUR")] * 3


def test_allocate_remainder_goes_first():
    shares = Money.parse("10.00 EUR").allocate(3)
    assert [str(s) for s in shares] == ["3.34 EUR", "3.33 EUR", "3.33 EUR"]


def test_allocate_bad_parts():
    with pytest.raises(ValueError):
        Money.parse("1.00 EUR").allocate(0)

from decimal import Decimal

import pytest
from ledgerly import Money, convert
from ledgerly.rates import find_rate


def test_direct_rate():
    assert convert(Money.parse("10.00 USD"), "EUR", {("USD", "EUR"): "0.9213"}) == Money(
        Decimal("9.21"), "EUR"
    )


def test_inverse_rate():
    assert find_rate("EUR", "USD", {("USD", "EUR"): "0.5"}) == Decimal(2)


def test_same_currency():
    assert convert(Money.parse("1.00 EUR"), "EUR", {}) == Money.parse("1.00 EUR")


def test_missing_rate():
    with pytest.raises(KeyError):
        convert(Money.parse("1.00 EUR"), "JPY", {})


def test_inverse_conversion_is_exact_to_the_cent():
    rates = {("USD", "EUR"): "0.9213"}
    assert convert(Money.parse("10000.00 EUR"), "USD", rates) == Money.parse("10854.23 USD")
    assert convert(Money.parse("1.00 EUR"), "USD", {("USD", "EUR"): "3"}) == Money.parse(
        "0.33 USD"
    )


def test_inverse_rate_not_rounded():
    assert find_rate("EUR", "USD", {("USD", "EUR"): "3"}) == Decimal(1) / Decimal(3)

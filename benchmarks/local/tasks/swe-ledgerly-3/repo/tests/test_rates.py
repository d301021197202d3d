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

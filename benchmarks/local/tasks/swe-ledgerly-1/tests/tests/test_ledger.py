from datetime import date

import pytest
from ledgerly import Ledger, Money


@pytest.fixture
def ledger():
    book = Ledger()
    book.record(date(2024, 1, 1), "checking", Money.parse("1000.00 EUR"), "salary")
    book.record(date(2024, 1, 15), "checking", Money.parse("-45.90 EUR"), "groceries")
    book.record(date(2024, 2, 1), "checking", Money.parse("-950.00 EUR"), "rent")
    book.record(date(2024, 2, 3), "savings", Money.parse("200.00 EUR"))
    return book


def test_balance_all(ledger):
    assert ledger.balance("checking") == Money.parse("4.10 EUR")


def test_balance_until(ledger):
    assert ledger.balance("checking", until=date(2024, 1, 20)) == Money.parse("954.10 EUR")


def test_unknown_account(ledger):
    with pytest.raises(KeyError):
        ledger.balance("brokerage")


def test_currency_per_account(ledger):
    with pytest.raises(ValueError):
        ledger.record(date(2024, 3, 1), "savings", Money.parse("1.00 USD"))


def test_monthly_totals(ledger):
    assert ledger.monthly_totals("checking") == {
        "2024-01": Money.parse("954.10 EUR"),
        "2024-02": Money.parse("-950.00 EUR"),
    }


def test_balance_until_is_inclusive(ledger):
    assert ledger.balance("checking", until=date(2024, 1, 15)) == Money.parse("954.10 EUR")
    assert ledger.balance("checking", until=date(2024, 1, 1)) == Money.parse("1000.00 EUR")

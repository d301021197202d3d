"""ledgerly: money amounts, currency conversion and a small ledger."""

from ledgerly.ledger import Entry, Ledger
from ledgerly.money import CurrencyMismatch, Money
from ledgerly.rates import convert

__all__ = ["CurrencyMismatch", "Entry", "Ledger", "Money", "convert"]

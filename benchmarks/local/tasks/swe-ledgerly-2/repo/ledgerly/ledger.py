"""Ledger: dated entries per account, balances and monthly totals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from ledgerly.money import Money


@dataclass(frozen=True)
class Entry:
    day: date
    account: str
    amount: Money
    memo: str = ""


class Ledger:
    """Entries in the order they were recorded; one currency per account."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._currency: dict[str, str] = {}

    def record(self, day: date, account: str, amount: Money, memo: str = "") -> Entry:
        currency = self._currency.setdefault(account, amount.currency)
        if currency != amount.currency:
            raise ValueError(f"account {account!r} holds {currency}, not {amount.currency}")
        entry = Entry(day, account, amount, memo)
        self.entries.append(entry)
        return entry

    def balance(self, account: str, until: date | None = None) -> Money:
        """Sum of the account's entries up to and including `until` (all if None)."""
        currency = self._currency.get(account)
        if currency is None:
            raise KeyError(f"unknown account {account!r}")
        total = Money.zero(currency)
        for entry in self.entries:
            if entry.account == account and (until is None or entry.day <= until):
                total = total + entry.amount
        return total

    def monthly_totals(self, account: str) -> dict[str, Money]:
        """{'2024-01': total, ...} in calendar order."""
        totals: dict[str, Money] = defaultdict(lambda: Money.zero(self._currency[account]))
        for entry in self.entries:
            if entry.account == account:
                key = f"{entry.day.year:04d}-{entry.day.month:02d}"
                totals[key] = totals[key] + entry.amount
        return dict(sorted(totals.items()))

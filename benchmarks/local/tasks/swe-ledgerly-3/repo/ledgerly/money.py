"""Money: an amount of one currency, always held to the cent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ledgerly.rounding import CENT, to_cents

_TEXT = re.compile(r"^\s*(-?\d+(?:\.\d{1,2})?)\s+([A-Z]{3})\s*$")


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


@dataclass(frozen=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_cents(self.amount))

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse '12.50 EUR'."""
        match = _TEXT.match(text)
        if not match:
            raise ValueError(f"not an amount: {text!r} (expected e.g. '12.50 EUR')")
        return cls(Decimal(match.group(1)), match.group(2))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _check(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def times(self, factor: Decimal | int | str) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def allocate(self, parts: int) -> list[Money]:
        """Split into `parts` shares that differ by at most a cent and add up exactly."""
        if parts < 1:
            raise ValueError("parts must be at least 1")
        cents = int(self.amount / CENT)
        share, extra = divmod(abs(cents), parts)
        sign = -1 if cents < 0 else 1
        return [
            Money(sign * (share + (1 if index < extra else 0)) * CENT, self.currency)
            for index in range(parts)
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

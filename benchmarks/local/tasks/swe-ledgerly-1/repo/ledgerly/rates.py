"""Currency conversion with a table of rates."""

from __future__ import annotations

from decimal import Decimal

from ledgerly.money import Money

RateTable = dict[tuple[str, str], str | Decimal]


def find_rate(source: str, target: str, rates: RateTable) -> Decimal:
    """The rate source->target, using the inverse of target->source if needed."""
    if source == target:
        return Decimal(1)
    if (source, target) in rates:
        return Decimal(rates[(source, target)])
    if (target, source) in rates:
        return Decimal(1) / Decimal(rates[(target, source)])
    raise KeyError(f"no rate between {source} and {target}")


def convert(money: Money, target: str, rates: RateTable) -> Money:
    """Convert at the table's rate; the result is rounded half-up to the cent."""
    return Money(money.amount * find_rate(money.currency, target, rates), target)

"""The one rounding rule of ledgerly: two places, half away from zero."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(value: Decimal | int | str) -> Decimal:
    """Round to two decimal places, half-up (1.005 -> 1.01, -1.005 -> -1.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)

"""Parse one cron field into the set of values it allows."""

from __future__ import annotations

from dataclasses import dataclass


class CronSyntaxError(ValueError):
    """A cron expression or one of its fields is malformed."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int]


def _number(text: str, spec: FieldSpec) -> int:
    upper = text.upper()
    if upper in spec.names:
        return spec.names[upper]
    if not text.isdigit():
        raise CronSyntaxError(f"{spec.name}: {text!r} is not a number")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise CronSyntaxError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def _part(text: str, spec: FieldSpec) -> set[int]:
    base, _, step_text = text.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronSyntaxError(f"{spec.name}: bad step {step_text!r}")
        step = int(step_text)
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _number(first, spec), _number(last, spec)
        if low > high:
            raise CronSyntaxError(f"{spec.name}: range {base!r} is reversed")
    else:
        low = high = _number(base, spec)
        if step_text:
            high = spec.high
    return {value for value in range(low, high + 1) if value % step == 0}


def parse_field(text: str, spec: FieldSpec) -> set[int]:
    """The values allowed by a field such as '*/15', '1-5', 'MON,WED' or '0-30/10'."""
    if not text:
        raise CronSyntaxError(f"{spec.name}: empty field")
    values: set[int] = set()
    for part in text.split(","):
        values |= _part(part, spec)
    return values

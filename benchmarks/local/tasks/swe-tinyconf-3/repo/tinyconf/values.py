"""Coerce raw string values into Python types."""

from __future__ import annotations

from tinyconf.errors import ConfigError

_BOOLEANS = {
    "true": True, "yes": True, "on": True, "1": True,
    "false": False, "no": False, "off": False, "0": False,
}


def to_bool(value: str) -> bool:
    """Interpret yes/no, on/off, true/false and 1/0, in any letter case."""
    try:
        return _BOOLEANS[value.strip().lower()]
    except KeyError:
        raise ConfigError(f"not a boolean: {value!r}") from None


def to_int(value: str) -> int:
    """Parse an integer; underscores may group digits (1_000)."""
    try:
        return int(value.strip(), 10)
    except ValueError:
        raise ConfigError(f"not an integer: {value!r}") from None


def to_list(value: str, separator: str = ",") -> list[str]:
    """Split on the separator, strip items, drop empty ones."""
    return [item.strip() for item in value.split(separator) if item.strip()]

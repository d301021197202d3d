"""Parameter converters: the regex a parameter matches and how its text becomes a value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Converter:
    regex: str
    to_python: Callable[[str], Any]
    to_url: Callable[[Any], str]


CONVERTERS: dict[str, Converter] = {
    "str": Converter(r"[^/]+", str, str),
    "int": Converter(r"[0-9]+", int, lambda value: str(int(value))),
    "slug": Converter(r"[a-z0-9]+(?:-[a-z0-9]+)*", str, str),
    "path": Converter(r".+", str, str),
}


def get_converter(name: str) -> Converter:
    try:
        return CONVERTERS[name]
    except KeyError:
        known = ", ".join(sorted(CONVERTERS))
        raise ValueError(f"unknown converter {name!r}; known: {known}") from None

"""The Config object: sections of keys with defaults and ${section.key} interpolation."""

from __future__ import annotations

import re
from pathlib import Path

from tinyconf import values
from tinyconf.errors import ConfigError
from tinyconf.lexer import DEFAULT_SECTION, tokenize

_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.-]+?)\.([A-Za-z0-9_-]+)\}")
_MISSING = object()
_MAX_DEPTH = 10


class Config:
    """Parsed configuration; keys are case-insensitive, sections are not."""

    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self._data = data

    def sections(self) -> list[str]:
        """Section names in file order, without DEFAULT."""
        return [name for name in self._data if name != DEFAULT_SECTION]

    def has(self, section: str, key: str) -> bool:
        return self._raw(section, key) is not None

    def _raw(self, section: str, key: str) -> str | None:
        key = key.lower()
        own = self._data.get(section, {})
        if key in own:
            return own[key]
        return self._data.get(DEFAULT_SECTION, {}).get(key)

    def get(self, section: str, key: str, default: object = _MISSING) -> str:
        """The interpolated string value; `default` (if given) when the key is missing."""
        raw = self._raw(section, key)
        if raw is None:
            if default is _MISSING:
                raise ConfigError(f"missing key {key!r} in section [{section}]")
            return default  # type: ignore[return-value]
        return self._interpolate(raw, depth=0)

    def _interpolate(self, value: str, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise ConfigError(f"interpolation too deep (cycle?) in {value!r}")

        def replace(match: re.Match[str]) -> str:
            raw = self._raw(match.group(1), match.group(2))
            if raw is None:
                raise ConfigError(f"unknown reference ${{{match.group(1)}.{match.group(2)}}}")
            return self._interpolate(raw, depth + 1)

        return _REFERENCE.sub(replace, value)

    def get_int(self, section: str, key: str, default: int | None = None) -> int:
        if default is not None and not self.has(section, key):
            return default
        return values.to_int(self.get(section, key))

    def get_bool(self, section: str, key: str, default: bool | None = None) -> bool:
        if default is not None and not self.has(section, key):
            return default
        return values.to_bool(self.get(section, key))

    def get_list(self, section: str, key: str) -> list[str]:
        return values.to_list(self.get(section, key))


def loads(text: str) -> Config:
    """Parse configuration text. A key repeated within a section is an error."""
    data: dict[str, dict[str, str]] = {}
    for entry in tokenize(text):
        keys = data.setdefault(entry.section, {})
        if entry.key in keys:
            raise ConfigError(f"duplicate key {entry.key!r} in [{entry.section}]", entry.line)
        keys[entry.key] = entry.raw
    return Config(data)


def load(path: str | Path) -> Config:
    """Read and parse a configuration file (UTF-8)."""
    return loads(Path(path).read_text(encoding="utf-8"))

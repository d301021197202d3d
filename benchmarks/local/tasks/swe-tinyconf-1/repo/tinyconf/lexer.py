"""Turn the text of a configuration file into (section, key, raw value, line) entries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tinyconf.errors import ConfigError

DEFAULT_SECTION = "DEFAULT"
_SECTION = re.compile(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]$")
_KEY = re.compile(r"^([A-Za-z0-9_.-]+)\s*[=:]\s*(.*)$")


@dataclass(frozen=True)
class Entry:
    section: str
    key: str
    raw: str
    line: int


def strip_comment(value: str) -> str:
    """Remove a trailing `# comment`, ignoring `#` inside double quotes."""
    in_quotes = False
    for index, char in enumerate(value):
        if char == '"':
            in_quotes = not in_quotes
        elif char == "#" and not in_quotes and (index == 0 or value[index - 1].isspace()):
            return value[:index].rstrip()
    return value.rstrip()


def unquote(value: str, line: int) -> str:
    """Strip one pair of surrounding double quotes; `\\"` inside stands for a quote."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    if value.startswith('"'):
        raise ConfigError("unterminated quoted value", line)
    return value


def tokenize(text: str) -> Iterator[Entry]:
    """Yield one Entry per key line; section headers change the current section."""
    section = DEFAULT_SECTION
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            continue
        pair = _KEY.match(line)
        if not pair:
            raise ConfigError(f"expected 'key = value' or '[section]', got {line!r}", number)
        value = unquote(strip_comment(pair.group(2)), number)
        yield Entry(section, pair.group(1).lower(), value, number)

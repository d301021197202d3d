"""Compile '/users/{id:int}' into a regex and build URLs back from parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from routekit.converters import Converter, get_converter

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")


@dataclass
class Pattern:
    template: str
    regex: re.Pattern[str]
    converters: dict[str, Converter]

    def match(self, path: str) -> dict[str, Any] | None:
        """Parameters converted to Python values, or None if the path does not match."""
        found = self.regex.fullmatch(path)
        if not found:
            return None
        return {name: self.converters[name].to_python(text)
                for name, text in found.groupdict().items()}

    def build(self, params: dict[str, Any]) -> str:
        """The path for these parameters; each value is percent-encoded."""
        missing = set(self.converters) - set(params)
        if missing:
            raise KeyError(f"missing parameters for {self.template}: {sorted(missing)}")

        def fill(found: re.Match[str]) -> str:
            name = found.group(1)
            text = self.converters[name].to_url(params[name])
            safe = "/" if found.group(2) == "path" else ""
            return quote(text, safe=safe)

        return _PARAM.sub(fill, self.template)


def compile_pattern(template: str) -> Pattern:
    """Compile a route template; literal parts are matched exactly."""
    if not template.startswith("/"):
        raise ValueError(f"route {template!r} must start with '/'")
    parts, converters, position = [], {}, 0
    for found in _PARAM.finditer(template):
        name, kind = found.group(1), found.group(2) or "str"
        if name in converters:
            raise ValueError(f"parameter {name!r} appears twice in {template!r}")
        converters[name] = get_converter(kind)
        parts.append(re.escape(template[position:found.start()]))
        parts.append(f"(?P<{name}>{converters[name].regex})")
        position = found.end()
    parts.append(re.escape(template[position:]))
    return Pattern(template, re.compile("".join(parts)), converters)

"""The agent's genome: the prompts and roster texts of its `config.toml`, edited in place.

The file is TOML with comments a user reads, so an edit replaces one string value's text
and leaves every other byte alone. Editable texts are addressed by path:
`prompts.<key>`, `experts.<name>.<field>`, `approaches.<name>.<field>`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

from agentforge.errors import AgentforgeError

ROSTER_FIELDS = ("description", "system", "instructions")
_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)


class GenomeError(AgentforgeError):
    """An edit names no text of the genome, or leaves the file unreadable."""


def editable_texts(text: str) -> dict[str, str]:
    """Every text a mutation may replace, by path, with its current value."""
    data = tomllib.loads(text)
    found = {f"prompts.{key}": value for key, value in (data.get("prompts") or {}).items()
             if isinstance(value, str)}
    for table in ("experts", "approaches"):
        for entry in data.get(table) or []:
            for field in ROSTER_FIELDS:
                if isinstance(entry.get(field), str) and entry.get("name"):
                    found[f"{table}.{entry['name']}.{field}"] = entry[field]
    return found


def replace_text(text: str, path: str, new: str) -> str:
    """`text` (a config.toml) with the string at `path` replaced by `new`."""
    current = editable_texts(text)
    if path not in current:
        raise GenomeError(f"{path!r} is not an editable text of config.toml; pick one of: "
                          f"{', '.join(sorted(current))}")
    start, end = _region(text, path)
    key = path.rsplit(".", 1)[1]
    match = re.compile(rf"^{re.escape(key)}\s*=\s*", re.MULTILINE).search(text, start, end)
    if match is None:
        raise GenomeError(f"{path!r}: its key is not written as `{key} = ...` in the file")
    value_end = _value_end(text, match.end(), end, current[path])
    updated = text[:match.end()] + toml_string(new) + text[value_end:]
    if editable_texts(updated).get(path) != new:  # the file must read back what was meant
        raise GenomeError(f"replacing {path!r} did not give the intended text")
    return updated


def toml_string(value: str) -> str:
    """`value` as a TOML string literal (multi-line when it has several lines)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if "\n" not in value:
        return f'"{escaped}"'
    return f'"""{escaped}"""'


def _region(text: str, path: str) -> tuple[int, int]:
    """Where the table holding `path` starts and ends in the file."""
    headers = [(m.start(), text[m.start():text.index("\n", m.start())].strip())
               for m in _HEADER.finditer(text)]
    table, *rest = path.split(".")
    ends = [h for h, _ in headers[1:]] + [len(text)]
    if table == "prompts":
        for (start, name), end in zip(headers, ends, strict=True):
            if name == "[prompts]":
                return start, end
    else:
        wanted = rest[0]
        for (start, name), end in zip(headers, ends, strict=True):
            if name == f"[[{table}]]":
                entry = tomllib.loads(text[start:end].replace(f"[[{table}]]", "", 1))
                if entry.get("name") == wanted:
                    return start, end
    raise GenomeError(f"{path!r}: its table is not in the file")


def _value_end(text: str, start: int, limit: int, expected: str) -> int:
    """The end of the TOML value starting at `start` that reads as `expected`."""
    cursor = start
    while cursor < limit:
        newline = text.find("\n", cursor)
        end = limit if newline == -1 or newline > limit else newline
        try:
            if tomllib.loads(f"x = {text[start:end]}").get("x") == expected:
                return end
        except tomllib.TOMLDecodeError:
            pass
        cursor = end + 1
    raise GenomeError("the value's end was not found in the file")


def merge_genomes(base: str, first: str, second: str) -> str:
    """`first` with `second`'s changes since `base`, text by text: a text only one side
    changed takes that side's; one both changed keeps the lines each added (a union merge).
    Any other difference (limits, strategy, added or removed entries) is a GenomeError."""
    texts = [editable_texts(t) for t in (base, first, second)]
    rest = [_without_texts(tomllib.loads(t)) for t in (base, first, second)]
    if rest[2] != rest[0] and rest[2] != rest[1]:
        raise GenomeError("the second parent changed settings beyond the texts of the genome")
    if set(texts[2]) != set(texts[0]):
        raise GenomeError("the second parent added or removed entries of the genome")
    merged = first
    for path, theirs in texts[2].items():
        ancestor, ours = texts[0].get(path), texts[1].get(path)
        if theirs in (ancestor, ours):
            continue
        if ours is None:  # dropping the second's change silently would lose it
            raise GenomeError(f"the first parent removed {path}, which the second changed")
        merged = replace_text(merged, path, theirs if ours == ancestor
                              else _union(ancestor or "", ours, theirs))
    return merged


def _without_texts(data: dict) -> dict:
    data = dict(data)
    data.pop("prompts", None)
    for table in ("experts", "approaches"):
        data[table] = [{k: v for k, v in e.items() if k not in ROSTER_FIELDS}
                       for e in data.get(table) or []]
    return data


def _union(base: str, ours: str, theirs: str) -> str:
    """git's union merge of one text: conflicting hunks keep both sides' lines."""
    with tempfile.TemporaryDirectory(prefix="agentforge-genome-") as tmp:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_text(text + "\n")
            paths.append(str(path))
        done = subprocess.run(["git", "merge-file", "-p", "--union", *paths],
                              capture_output=True, text=True, timeout=60)
    if done.returncode < 0 or done.returncode > 127:
        raise GenomeError(f"git merge-file failed: {done.stderr.strip()[:300]}")
    return done.stdout.removesuffix("\n")

"""Reading the files DGM and HGM runs leave: concatenated JSON records, agent source trees.

Their `*_metadata.jsonl` files append `json.dumps(record, indent=2)` per generation, so one
record spans many lines (not JSON Lines), and HGM writes `Infinity` for a node's mean
utility before its first evaluation (Python's json reads that). Their agent image is their
checkout copied with `COPY . .`, i.e. minus the paths in its `.dockerignore`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from pathlib import Path

from agentforge.errors import AgentforgeError


class ImportRefused(AgentforgeError):
    """A folder is not a run of that system, or cannot be imported (the message says why)."""


def read_json_records(path: Path) -> list:
    """Every JSON value in a file of concatenated, possibly multi-line, records."""
    text = path.read_text(encoding="utf-8")
    decoder, records, index = json.JSONDecoder(), [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return records
        try:
            record, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            if not records:
                raise ImportRefused(f"{path} is not a sequence of JSON records: {exc}") from exc
            return records  # the last record was cut short by a kill mid-write
        records.append(record)


def read_json(path: Path) -> dict | None:
    """A JSON file's object, or None if it is missing or unreadable (a crashed attempt)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def dockerignore_patterns(folder: Path) -> list[str]:
    """The patterns of folder/.dockerignore (comment and marker lines dropped)."""
    ignore = folder / ".dockerignore"
    if not ignore.is_file():
        return []
    patterns = []
    for line in ignore.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "<!--", "!")):
            patterns.append(line.strip("/"))
    return patterns


def _ignored(rel: str, patterns: list[str]) -> bool:
    """Docker's matching, simplified: a pattern matches a path or one of its parent folders
    from the root; `**/NAME` matches a component anywhere."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


def agent_files(checkout: Path) -> list[str]:
    """Relative paths of the files their Docker image holds: the checkout minus .dockerignore
    (tracked files only when it is a git checkout, so local outputs stay out)."""
    if (checkout / ".git").exists():
        listed = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z"],
                                capture_output=True, check=True).stdout.decode()
        files = [f for f in listed.split("\0") if f and (checkout / f).is_file()]
    else:
        files = []
        for root, dirs, names in os.walk(checkout):
            dirs[:] = [d for d in dirs if d != ".git"]
            files += [os.path.relpath(os.path.join(root, n), checkout) for n in names]
    patterns = [*dockerignore_patterns(checkout), ".dockerignore", "**/__pycache__", "**/*.pyc"]
    return sorted(f for f in files if not _ignored(f.replace(os.sep, "/"), patterns))

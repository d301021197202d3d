"""Named task lists kept as data: `lists/<benchmark>/<name>.toml`, each naming its source.

A list file holds `description` and one of:
- `ids` plus `[source]` with `repository`, `path` and `commit` (a reference's own list,
  copied as published) or `chosen_by_project` (how this project chose it);
- `union = [names]`: the ids of those lists in order, each once;
- `rest_of = [names]`: every loaded id that none of those lists holds.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agentforge.bench.protocol import BenchError

LISTS_DIR = Path(__file__).parent / "lists"


@dataclass(frozen=True)
class NamedList:
    """One named list of instance ids and where it comes from."""

    name: str
    description: str
    source: str
    """Where the ids come from: `repository path @ commit`, how the project chose them, or
    which lists it combines."""
    ids: tuple[str, ...] = ()
    """The listed ids in their source's order (empty for a `rest_of` list)."""
    excluded: tuple[str, ...] | None = None
    """For a `rest_of` list: the ids it leaves out of the loaded ones; None otherwise."""

    def select(self, loaded: list[str]) -> list[str]:
        """The list's ids among the loaded ones (a `rest_of` list: the loaded ids it keeps)."""
        if self.excluded is not None:
            left_out = set(self.excluded)
            return [i for i in loaded if i not in left_out]
        present = set(loaded)
        return [i for i in self.ids if i in present]

    def missing(self, loaded: list[str]) -> int:
        """How many listed ids the loaded rows lack (0 for a `rest_of` list)."""
        return len(self.ids) - len(self.select(loaded)) if self.excluded is None else 0

    @property
    def size(self) -> int | None:
        """Listed ids (None for a `rest_of` list, whose size depends on the rows)."""
        return None if self.excluded is not None else len(self.ids)


@cache
def named_lists(benchmark: str) -> dict[str, NamedList]:
    """The named lists of a benchmark (`swebench`, `polyglot`), by name, sorted."""
    folder = LISTS_DIR / benchmark
    raw = {path.stem: _read(path) for path in sorted(folder.glob("*.toml"))}
    lists: dict[str, NamedList] = {}
    for name, data in raw.items():
        if "ids" in data:
            lists[name] = NamedList(name, data["description"], _source(name, data),
                                    tuple(data["ids"]))
    for name, data in raw.items():
        if "union" in data:
            parts = _members(name, data["union"], lists)
            ids = tuple(dict.fromkeys(i for part in parts for i in part.ids))
            lists[name] = NamedList(name, data["description"],
                                    "union of " + " + ".join(data["union"]), ids)
    for name, data in raw.items():
        if "rest_of" in data:
            parts = _members(name, data["rest_of"], lists)
            excluded = tuple(dict.fromkeys(i for part in parts for i in part.ids))
            lists[name] = NamedList(name, data["description"],
                                    "loaded ids not in " + " + ".join(data["rest_of"]),
                                    excluded=excluded)
    return dict(sorted(lists.items()))


def coverage_warning(benchmark: str, subset: str | None, loaded: list[str]) -> str | None:
    """A warning when a named list has ids the loaded rows lack; None when all are there."""
    listed = named_lists(benchmark).get(subset or "")
    if listed is None:
        return None
    missing = listed.missing(loaded)
    if not missing:
        return None
    return (f"{benchmark} subset {subset!r} lists {listed.size} ids but the loaded data has "
            f"only {listed.size - missing}: {missing} missing ({listed.source}); scores on it "
            f"are not comparable with results on the whole list. Load rows that hold all of "
            f"them (e.g. SWE-bench Verified, or a full polyglot-benchmark checkout)")


def _read(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path} is not valid TOML: {exc}") from exc
    kinds = [k for k in ("ids", "union", "rest_of") if k in data]
    if len(kinds) != 1 or "description" not in data:
        raise BenchError(f"{path}: a list file needs `description` and exactly one of "
                         f"`ids`, `union`, `rest_of` (has {', '.join(kinds) or 'none'})")
    if "ids" in data and len(set(data["ids"])) != len(data["ids"]):
        raise BenchError(f"{path}: `ids` lists an id twice")
    return data


def _source(name: str, data: dict) -> str:
    source = data.get("source", {})
    if {"repository", "path", "commit"} <= source.keys():
        return f"{source['repository']} {source['path']} @ {source['commit'][:12]}"
    if "chosen_by_project" in source:
        return f"chosen by this project: {source['chosen_by_project']}"
    raise BenchError(f"list {name!r}: [source] needs repository, path and commit (a "
                     f"published list) or chosen_by_project (how this project chose it)")


def _members(name: str, names: list[str], lists: dict[str, NamedList]) -> list[NamedList]:
    unknown = [n for n in names if n not in lists or lists[n].excluded is not None]
    if unknown:
        raise BenchError(f"list {name!r} combines {', '.join(unknown)}, which are not id lists "
                         f"of the same benchmark; valid: {', '.join(lists)}")
    return [lists[n] for n in names]

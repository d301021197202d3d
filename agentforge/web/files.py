"""Files of a run directory, served only from inside it.

A path from a URL is untrusted: `..`, absolute paths, their percent-encoded forms (decoded
once by the router, so a second decoding is refused too) and symlinks that lead out of the
run directory all end in NotFound, as does anything that is not a regular file.
"""

from __future__ import annotations

from pathlib import Path

from agentforge.web.errors import NotFound

MAX_LISTED = 200  # files listed per node folder; a node with more shows the first ones
SERVED_SUFFIXES = {".json", ".txt", ".log", ".md", ".patch", ".diff", ".out", ".jsonl", ""}


def resolve_inside(root: Path, relative: str) -> Path:
    """The file at `relative` under `root`, or NotFound if it is outside, hidden or absent."""
    root = root.resolve()
    if not relative or "\x00" in relative or "%" in relative or "\\" in relative:
        raise NotFound("no such file in this run")
    parts = Path(relative).parts
    if Path(relative).is_absolute() or any(part in ("..", ".") for part in parts):
        raise NotFound("no such file in this run")
    if parts and parts[0] in ("archive.sqlite", "agents.git", "agents") or any(
            part.startswith("archive.sqlite") for part in parts):
        raise NotFound("no such file in this run")  # the database and code have their routes
    candidate = (root / relative).resolve()  # follows symlinks: where the file really is
    try:
        candidate.relative_to(root)
    except ValueError:
        raise NotFound("no such file in this run") from None
    if not candidate.is_file() or candidate.suffix not in SERVED_SUFFIXES:
        raise NotFound("no such file in this run")
    return candidate


def node_files(root: Path, folder: Path) -> list[str]:
    """Servable files under `folder`, as paths relative to `root` (sorted, at most MAX_LISTED)."""
    root = root.resolve()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        if len(found) >= MAX_LISTED:
            break
        if path.is_file() and not path.is_symlink() and path.suffix in SERVED_SUFFIXES:
            try:
                found.append(str(path.resolve().relative_to(root)))
            except ValueError:
                continue
    return found

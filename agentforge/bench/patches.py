"""Git diffs as the agent's output: split by file, and drop the files the grader protects."""

from __future__ import annotations

import difflib
import re
from fnmatch import fnmatch

_FILE_HEADER = re.compile(r"^diff --git ", re.MULTILINE)
_PATHS = re.compile(r'^diff --git "?a/(.+?)"? "?b/(.+?)"?$', re.MULTILINE)

# Files that steer a test runner: changing them can make failing tests look green
# (a conftest hook rewriting outcomes, a Go TestMain that exits 0, a sitecustomize).
RUNNER_CONFIG_GLOBS = [
    "conftest.py", "*/conftest.py", "pytest.ini", "*/pytest.ini", "tox.ini",
    "sitecustomize.py", "*/sitecustomize.py", "usercustomize.py", "*/usercustomize.py",
]
LANGUAGE_TEST_GLOBS = {"go": ["*_test.go"]}
"""Test files of a language that the test command would pick up even when new."""


def file_sections(patch: str) -> list[str]:
    """The per-file sections of a git diff, each starting with `diff --git`."""
    starts = [m.start() for m in _FILE_HEADER.finditer(patch)]
    return [patch[a:b] for a, b in zip(starts, [*starts[1:], len(patch)], strict=True)]


def section_paths(section: str) -> set[str]:
    """Paths a section touches (both sides, so renames count for source and target)."""
    match = _PATHS.search(section)
    if match is None:
        return set()
    return {p for p in match.groups() if p != "/dev/null"}


def is_protected(path: str, globs: list[str]) -> bool:
    """True if a repo path matches one of the protected globs (fnmatch; `*` spans `/`)."""
    return any(fnmatch(path, glob) for glob in globs)


def drop_protected(patch: str, globs: list[str]) -> tuple[str, list[str]]:
    """Remove every file section touching a protected path; return the rest and what went."""
    if not patch.strip():
        return patch, []
    sections = file_sections(patch)
    if not sections:
        # Not a git diff (e.g. plain `diff -u`): it is applied as given and fails or not.
        return patch, []
    kept, dropped = [], []
    for section in sections:
        touched = section_paths(section)
        if any(is_protected(p, globs) for p in touched):
            dropped.extend(sorted(touched))
        else:
            kept.append(section)
    return "".join(kept), dropped


def diff_files(changes: dict[str, tuple[str | None, str | None]]) -> str:
    """A git-style diff from {path: (old text or None, new text or None)}; `git apply` takes it."""
    out = []
    for path, (old, new) in sorted(changes.items()):
        if old == new:
            continue
        out.append(f"diff --git a/{path} b/{path}\n")
        if old is None:
            out.append("new file mode 100644\n")
        elif new is None:
            out.append("deleted file mode 100644\n")
        out.append(f"--- {'a/' + path if old is not None else '/dev/null'}\n")
        out.append(f"+++ {'b/' + path if new is not None else '/dev/null'}\n")
        old_lines, new_lines = (old or "").splitlines(True), (new or "").splitlines(True)
        hunks = difflib.unified_diff(old_lines, new_lines, n=3)
        for line in list(hunks)[2:]:  # the ---/+++ lines are written above
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)

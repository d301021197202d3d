"""Patch acceptance by git: a prediction is applied with git in a scratch copy under a
hardened configuration, the changed paths are read back from git itself, and only the paths
the benchmark's `PatchRules` accept stay; every other change is put back and reported.

Why git and not a regex over headers: git decides what a patch does (mnemonic `i/`/`w/`
prefixes, C-quoted names, extra `---`/`+++` blocks, plain unified diffs), so the paths it
reports after applying are the paths that changed, however the headers were written.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from agentforge import host_commands
from agentforge.errors import AgentforgeError
from agentforge.safe_git import SAFE_DIFF_FLAGS, safe_git_args

# Files that steer a Python test run from inside the repository.
RUNNER_CONFIG_GLOBS = (
    "conftest.py", "*/conftest.py", "pytest.ini", "*/pytest.ini", ".pytest.ini",
    "*/.pytest.ini", "tox.ini", "*/tox.ini", "setup.cfg", "*/setup.cfg",
    "pyproject.toml", "*/pyproject.toml", "sitecustomize.py", "*/sitecustomize.py",
    "usercustomize.py", "*/usercustomize.py", "*.pth", ".pythonrc*", ".coveragerc",
    "noxfile.py", ".git*", "*/.git*",
)
# Test folders and test-file names of a Python repository.
REPOSITORY_TEST_GLOBS = (
    "tests/*", "*/tests/*", "test/*", "*/test/*", "testing/*", "*/testing/*",
    "test_*.py", "*/test_*.py", "*_test.py", "*/*_test.py",
)
# Modules the test runner imports after the repository is on sys.path: a top-level file of
# that name would be imported instead of the real one.
RUNNER_MODULES = frozenset({"pytest", "_pytest", "pluggy", "py", "iniconfig", "packaging",
                            "exceptiongroup", "tomli", "pygments", "colorama"})
# What Python imports a module from: a source file, a sourceless .pyc, an extension module
# (`name.so`, `name.cpython-312-x86_64-linux-gnu.so`); the module's name ends at the first dot.
IMPORTABLE_SUFFIXES = (".py", ".pyw", ".pyc", ".pyo", ".so", ".pyd")
_ELF = b"\x7fELF"


@dataclass(frozen=True)
class PatchRules:
    """Which changed paths a benchmark grades; the rest of a patch is put back."""

    only: tuple[str, ...] = ()
    """When non-empty: the only paths (fnmatch globs) accepted, e.g. an exercise's solution."""
    never: tuple[str, ...] = ()
    """Paths never accepted (tests, runner configuration), named with `never_reason`."""
    never_reason: str = "test or runner configuration"
    """The class a `never` path belongs to, as reported."""
    no_shadowing: bool = True
    """Reject top-level modules named like the standard library or the test runner."""

    def rejects(self, path: str, mode: str, head: bytes = b"") -> str | None:
        """Why a changed path, whose content starts with `head`, is not accepted (None when
        it is). Some kinds of file are refused by every benchmark."""
        if mode in ("120000", "160000"):
            return "symlink or submodule"
        why = refused_kind(path, head)
        if why:
            return why
        if self.only and not any(fnmatch(path, glob) for glob in self.only):
            return "not a solution file"
        if any(fnmatch(path, glob) for glob in self.never):
            return self.never_reason
        return shadowed_module(path) if self.no_shadowing else None


def refused_kind(path: str, head: bytes) -> str | None:
    """Kinds of file no patch may add, whatever the benchmark: compiled code (by its content,
    whatever its name), `.pth` files, and `*customize` modules the interpreter runs at start."""
    if head.startswith(_ELF):
        return "compiled code (an ELF binary or extension module)"
    if len(head) >= 16 and head[2:4] == b"\r\n" and \
            2900 <= int.from_bytes(head[:2], "little") < 4000:  # CPython 3's magic numbers
        return "compiled code (Python bytecode)"
    name = PurePosixPath(path).name
    if name.endswith(".pth"):
        return "a .pth file (site runs its import lines)"
    module = _module_name(PurePosixPath(path))
    if module and module.endswith("customize"):
        return f"a {module} module (the interpreter imports it at start-up)"
    return None


def _module_name(path: PurePosixPath) -> str | None:
    """The module a file would be imported as from its folder (a package: its folder's name)."""
    if not path.name.endswith(IMPORTABLE_SUFFIXES):
        return None
    module = path.name.split(".", 1)[0]
    if module == "__init__":
        return path.parent.name or "__init__"
    return module


def shadowed_module(path: str) -> str | None:
    """Why a top-level file would change what the runner imports (None when it would not):
    any importable kind counts (source, bytecode, extension module, package)."""
    parts = PurePosixPath(path).parts
    if len(parts) == 1 and _module_name(PurePosixPath(path)) == "__init__":
        return "makes the repository root a package"
    if len(parts) == 1 or (len(parts) == 2 and parts[1].split(".", 1)[0] == "__init__"):
        name = _module_name(PurePosixPath(path))
    else:
        return None
    if name in sys.stdlib_module_names or name in RUNNER_MODULES:
        return f"shadows the module {name!r} the runner imports"
    return None


@dataclass
class AcceptedPatch:
    """A patch applied in a scratch tree: what was kept and what was put back."""

    tree: Path
    """The scratch copy with the accepted changes (no .git inside)."""
    accepted: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    """Changed path -> why its change was put back."""
    error: str | None = None
    """Why the patch did not apply (then nothing was changed)."""

    def dropped_note(self) -> str:
        """' (ignored changes: path (reason), ...)' or ''."""
        if not self.dropped:
            return ""
        items = [f"{path} ({why})" for path, why in sorted(self.dropped.items())]
        shown = ", ".join(items[:6]) + (f", and {len(items) - 6} more" if len(items) > 6 else "")
        return f" (ignored changes: {shown})"


class PatchError(AgentforgeError):
    """git could not process a prediction in the scratch copy."""


class _ScratchGit:
    """git over a work tree with its git directory elsewhere and no outside configuration."""

    def __init__(self, root: Path, tree: Path) -> None:
        self.tree = tree
        home = root / "home"
        home.mkdir()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                    "GIT_DIR": str(root / "git"), "GIT_WORK_TREE": str(tree),
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                    "GIT_ATTR_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        try:
            done = host_commands.run(["git", *safe_git_args(), *args], cwd=self.tree,
                                     env=self.env, timeout=300)
        except subprocess.TimeoutExpired as exc:
            raise PatchError(f"git {args[0]} took over 300 s on the prediction") from exc
        if check and done.returncode != 0:
            raise PatchError(f"git {args[0]} failed: {done.stderr.decode(errors='replace')}")
        return done


@contextmanager
def accept_patch(repo_dir: Path, patch: str, rules: PatchRules) -> Iterator[AcceptedPatch]:
    """Apply `patch` to a scratch copy of repo_dir with git; keep only what `rules` accept."""
    root = Path(tempfile.mkdtemp(prefix="agentforge-patch-"))
    try:
        tree = root / "tree"
        shutil.copytree(repo_dir, tree, symlinks=True)
        git = _ScratchGit(root, tree)
        git("init", "-q")
        git("add", "-A", "-f")
        git("commit", "-q", "--allow-empty", "--no-verify", "-m", "snapshot")
        result = AcceptedPatch(tree=tree)
        if patch.strip():
            (root / "prediction.diff").write_text(patch if patch.endswith("\n") else patch + "\n")
            result.error = _apply(git, root / "prediction.diff")
            if result.error is None:
                _keep_accepted(git, rules, result)
        yield result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _apply(git: _ScratchGit, patch_file: Path) -> str | None:
    """Apply with git (strip one leading folder, else none); None or git's complaint."""
    first = None
    for strip in ("-p1", "-p0"):
        done = git("apply", "--whitespace=nowarn", strip, str(patch_file),
                   check=False)
        if done.returncode == 0:
            return None
        first = first or done.stderr.decode(errors="replace").strip()
    lines = [line for line in (first or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "git apply failed"


def changed_paths(raw: bytes) -> list[tuple[str, str, str]]:
    """(old mode, new mode, path) per entry of `git diff --raw -z` output."""
    fields = raw.split(b"\0")
    out, i = [], 0
    while i + 1 < len(fields) and fields[i].startswith(b":"):
        old_mode, new_mode = fields[i][1:].split(b" ")[:2]
        out.append((old_mode.decode(), new_mode.decode(), os.fsdecode(fields[i + 1])))
        i += 2
    return out


def _keep_accepted(git: _ScratchGit, rules: PatchRules, result: AcceptedPatch) -> None:
    git("add", "-A", "-f")
    raw = git("diff", "--cached", "--raw", "-z", *SAFE_DIFF_FLAGS, "HEAD").stdout
    restore = []
    for old_mode, new_mode, path in changed_paths(raw):
        why = rules.rejects(path, new_mode, _head(result.tree / path)) or (
            rules.rejects(path, old_mode) if old_mode != "000000" else None)
        if why is None:
            result.accepted.append(path)
            continue
        result.dropped[path] = why
        target = result.tree / path
        if target.is_symlink() or target.is_file():
            target.unlink()
        if old_mode != "000000":
            restore.append(path)
    # Put the originals back after every rejected new entry is gone (a file may have
    # been replaced by a folder or a symlink on the way).
    for path in restore:
        _remove_blockers(result.tree, path)
        git("checkout", "HEAD", "--", path)


def _head(path: Path) -> bytes:
    """The first bytes of a changed file (empty for a deletion or a non-file)."""
    if path.is_symlink() or not path.is_file():
        return b""
    with path.open("rb") as stream:
        return stream.read(64)


def _remove_blockers(tree: Path, path: str) -> None:
    """Remove whatever sits where `path` or one of its folders must be restored."""
    folder = tree
    for part in PurePosixPath(path).parent.parts:
        folder = folder / part
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
    target = tree / path
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)


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

"""Finding runs: each PATH is a run directory or a folder of run directories."""

from __future__ import annotations

import threading
from pathlib import Path

from agentforge.evolve.rundir import RunDir
from agentforge.web.archive import RunArchive
from agentforge.web.errors import NotFound


def is_run_dir(path: Path) -> bool:
    """Whether `path` holds a run (config.json and its archive: archive.sqlite or a store)."""
    return RunDir(path).exists()


class RunCatalog:
    """The runs under the given paths, by a URL-safe name; rescanned on every listing."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [Path(p).resolve() for p in paths]
        self._archives: dict[Path, RunArchive] = {}
        self._lock = threading.Lock()
        self._names: dict[str, Path] = {}

    def run_dirs(self) -> dict[str, Path]:
        """Name -> run directory, for every run found now (new runs appear on the next call)."""
        found: dict[str, Path] = {}
        for root in self.paths:
            candidates = [root] if is_run_dir(root) else sorted(
                (p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name
            ) if root.is_dir() else []
            for path in candidates:
                if not is_run_dir(path):
                    continue
                name, n = _slug(path.name), 2
                while name in found and found[name] != path:
                    name, n = f"{_slug(path.name)}-{n}", n + 1
                found[name] = path
        return found

    def archive(self, name: str) -> RunArchive:
        """The opened archive of the run called `name` (opened once, then reused)."""
        path = self._names.get(name)
        if path is None or not is_run_dir(path):
            self._names = self.run_dirs()
            path = self._names.get(name)
        if path is None:
            raise NotFound(f"no run called {name!r}")
        with self._lock:
            if path not in self._archives:
                self._archives[path] = RunArchive(path)
            return self._archives[path]

    def close(self) -> None:
        """Release every opened archive."""
        with self._lock:
            for archive in self._archives.values():
                archive.close()
            self._archives.clear()


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".") or "run"

"""Agents as folders: a commit of the run's agents.git exported into its `agents/` cache, and a
seed folder copied clean."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from agentforge.store.repo import AgentRepo

# Local clutter a seed folder may hold that is not part of the agent.
_NOT_AGENT = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache",
                                    ".venv", "*.egg-info", ".mypy_cache")


def clean_copy(folder: Path, dest: Path) -> Path:
    """Copy an agent folder without caches and virtualenvs (what a seed commit should hold)."""
    shutil.copytree(folder, dest, ignore=_NOT_AGENT)
    return dest


def export_commit(repo: AgentRepo, commit: str, cache_dir: Path) -> Path:
    """The agent at `commit` as a folder under cache_dir (exported once, atomically)."""
    target = cache_dir / commit[:16]
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=cache_dir))
    repo.export(commit, staging / "agent")
    try:
        os.rename(staging / "agent", target)  # a concurrent export of the same commit may win
    except OSError:
        if not target.is_dir():
            raise
    shutil.rmtree(staging, ignore_errors=True)
    return target

"""Helpers for the checks of the bundled suite's data (benchmarks/local)."""

from __future__ import annotations

import tomllib

from agentforge.paths import benchmarks_dir

LOCAL = benchmarks_dir() / "local"
TASKS = LOCAL / "tasks"


def task_ids() -> list[str]:
    """Every task folder of the bundled suite."""
    return sorted(p.name for p in TASKS.iterdir() if p.is_dir())


def read_task(task_id: str) -> dict:
    """The parsed task.toml of one task."""
    return tomllib.loads((TASKS / task_id / "task.toml").read_text())


def subsets_file() -> dict:
    """The parsed subsets.toml."""
    return tomllib.loads((LOCAL / "subsets.toml").read_text())

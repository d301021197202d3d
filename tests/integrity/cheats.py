"""Cheating predictions built against a task's real snapshot."""

from __future__ import annotations

from pathlib import Path

from agentforge.bench.patches import diff_files
from agentforge.bench.task import Prediction, Task


def cheat(task: Task, files: dict[str, str | None]) -> Prediction:
    """A prediction that sets each file to the given text (None deletes it)."""
    root = Path(task.repo_dir)
    changes = {rel: ((root / rel).read_text() if (root / rel).is_file() else None, text)
               for rel, text in files.items()}
    return Prediction(instance_id=task.instance_id, model_patch=diff_files(changes))


def with_patch(task: Task, patch: str) -> Prediction:
    """A prediction carrying a hand-written patch."""
    return Prediction(instance_id=task.instance_id, model_patch=patch)

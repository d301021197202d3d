"""Cheating predictions built against a task's real snapshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


def binary_cheat(task: Task, files: dict[str, bytes]) -> Prediction:
    """A prediction adding or replacing files with any bytes (a `git diff --binary` patch)."""
    with tempfile.TemporaryDirectory(prefix="binary-cheat-") as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(task.repo_dir, tree)
        env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": scratch,
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

        def git(*args: str) -> bytes:
            return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                                  cwd=tree, env=env, check=True, capture_output=True).stdout

        git("init", "-q")
        git("add", "-A", "-f")
        git("commit", "-q", "-m", "snapshot")
        for rel, data in files.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(data)
        git("add", "-A", "-f")
        patch = git("diff", "--cached", "--binary", "HEAD")
    return Prediction(instance_id=task.instance_id, model_patch=patch.decode())

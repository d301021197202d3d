"""The bundled offline suite (benchmarks/local/tasks/<id>/task.toml; see benchmarks/README.md)."""

from __future__ import annotations

import tomllib
from functools import cached_property
from pathlib import Path

from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.protocol import BenchDataMissing, BenchError, TaskCatalog
from agentforge.bench.split import hash_split
from agentforge.bench.task import Check, CheckKind, Prediction, Task, TaskResult
from agentforge.paths import benchmarks_dir

_KINDS = {"exercise": CheckKind.EXIT_CODE, "swe": CheckKind.TEST_LISTS}


class LocalBenchmark(TaskCatalog):
    """Tasks written by this project: Exercism-style exercises and SWE-style Python repos."""

    name = "local"

    def __init__(self, source: Path | None = None, attempts: int = 1) -> None:
        root = Path(source) if source is not None else benchmarks_dir() / "local"
        self.root = root.parent if root.name == "tasks" else root
        self.max_attempts = attempts
        if not (self.root / "tasks").is_dir():
            raise BenchDataMissing(
                f"no tasks under {self.root / 'tasks'}; "
                f"generate them with: python benchmarks/local/generate.py"
            )

    @cached_property
    def _tasks(self) -> dict[str, Task]:
        found = {}
        for folder in sorted((self.root / "tasks").iterdir()):
            if (folder / "task.toml").is_file():
                task = load_task(folder)
                found[task.instance_id] = task
        return found

    @cached_property
    def _config(self) -> dict:
        path = self.root / "subsets.toml"
        return tomllib.loads(path.read_text()) if path.is_file() else {}

    def subsets(self) -> dict[str, list[str]]:
        """smoke / small / full from subsets.toml (full: every task when not listed)."""
        subsets = dict(self._config.get("subsets", {}))
        subsets.setdefault("full", list(self._tasks))
        return subsets

    def splits(self) -> dict[str, list[str]]:
        """validation / held_out from subsets.toml, else a stable hash split."""
        return dict(self._config.get("splits") or hash_split(list(self._tasks)))

    def prepare(self, task: Task) -> Task:
        """Nothing to do: the snapshot is already on the host."""
        return task

    def grade(self, task: Task, prediction: Prediction) -> TaskResult:
        """Grade in a fresh sandbox: exit code (exercises) or FAIL_TO_PASS/PASS_TO_PASS (swe)."""
        return grade_in_sandbox(task, prediction)


def load_task(folder: Path) -> Task:
    """Read one tasks/<id>/ folder into a Task."""
    try:
        meta = tomllib.loads((folder / "task.toml").read_text())
        kind = _KINDS[meta["kind"]]
        reference = folder / "solution.patch"
        return Task(
            instance_id=meta["id"],
            benchmark="local",
            problem_statement=(folder / "problem.md").read_text(),
            repo_dir=folder / "repo",
            hidden_tests_dir=folder / "tests",
            hidden_tests=meta.get("hidden_tests", []),
            protected_files=meta.get("protected_files", []),
            visible_files=meta.get("visible_files", []),
            image=meta.get("image", "agent-runtime"),
            workdir=meta.get("workdir", "/workspace"),
            language=meta.get("language", "python"),
            reference_patch=reference.read_text() if reference.is_file() else None,
            check=Check(
                kind=kind,
                test_command=meta["test_command"],
                timeout=meta.get("test_timeout", 300),
                env=meta.get("env", {}),
                fail_to_pass=meta.get("FAIL_TO_PASS", []),
                pass_to_pass=meta.get("PASS_TO_PASS", []),
            ),
            metadata={"kind": meta["kind"], "difficulty": meta.get("difficulty", "")},
        )
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise BenchError(
            f"{folder / 'task.toml'} is invalid ({exc}); regenerate it with "
            f"python benchmarks/local/generate.py"
        ) from exc

"""The framework-owned test runner of each language (runners.py: Python; go_grading.py: Go;
polyglot_runners.py: the rest of Polyglot's), by `task.language`."""

from __future__ import annotations

from agentforge.bench.go_grading import GoRunner
from agentforge.bench.polyglot_runners import CargoRunner, CMakeRunner, JestRunner, JUnitRunner
from agentforge.bench.runners import PytestRunner, Runner
from agentforge.bench.task import Task


def _registry() -> dict[str, Runner]:
    return {"python": PytestRunner(), "go": GoRunner(), "javascript": JestRunner(),
            "rust": CargoRunner(), "java": JUnitRunner(), "cpp": CMakeRunner()}


def runner_for(task: Task) -> Runner | None:
    """The framework-owned runner of a task's language, if it has one (by task.language)."""
    return _registry().get(task.language)

"""The Benchmark protocol: what every adapter (local, polyglot, swebench) provides."""

from __future__ import annotations

from typing import Protocol

from agentforge.bench.task import Prediction, Task, TaskResult
from agentforge.errors import AgentforgeError


class BenchError(AgentforgeError):
    """A benchmark, subset, split or task cannot be found or read."""


class BenchDataMissing(BenchError):
    """The benchmark's data is not where its source points. The message says what is
    missing; the caller adds how to give a source (`--source`, or a run's benchmark.source)."""


class Benchmark(Protocol):
    """A set of tasks with named subsets, a validation/held-out split, and a grader."""

    name: str
    max_attempts: int
    """Agent attempts per task: 1 is pass@1; Polyglot's pass@2 retries once with test output."""

    def tasks(self, subset: str | None = None, split: str | None = None) -> list[Task]:
        """Tasks of a named subset (default: all) restricted to a split (default: both)."""
        ...

    def task(self, instance_id: str) -> Task:
        """One task by id, or a BenchError naming a few valid ids."""
        ...

    def subsets(self) -> dict[str, list[str]]:
        """Named subsets: name -> instance ids."""
        ...

    def splits(self) -> dict[str, list[str]]:
        """`validation` (what selection sees) and `held_out` (finalists only): name -> ids."""
        ...

    def prepare(self, task: Task) -> Task:
        """Make the task's repo snapshot available on the host before an agent runs on it."""
        ...

    def grade(self, task: Task, prediction: Prediction) -> TaskResult:
        """Grade one prediction in a fresh sandbox; failures become the result's reason."""
        ...


class TaskCatalog:
    """Lookup and subset/split selection for adapters whose tasks sit in a `_tasks` dict."""

    name: str
    _tasks: dict[str, Task]

    def subsets(self) -> dict[str, list[str]]:
        raise NotImplementedError

    def splits(self) -> dict[str, list[str]]:
        raise NotImplementedError

    def tasks(self, subset: str | None = None, split: str | None = None) -> list[Task]:
        """Tasks of a subset and split (default: all)."""
        return select(self._tasks, self.subsets(), self.splits(), self.name, subset, split)

    def task(self, instance_id: str) -> Task:
        """One task by id, or a BenchError naming a few valid ids."""
        if instance_id not in self._tasks:
            raise unknown_task(self.name, instance_id, list(self._tasks))
        return self._tasks[instance_id]


def select(
    all_tasks: dict[str, Task],
    subsets: dict[str, list[str]],
    splits: dict[str, list[str]],
    benchmark: str,
    subset: str | None,
    split: str | None,
) -> list[Task]:
    """Shared subset/split filtering with errors that list the valid names."""
    ids = list(all_tasks)
    if subset is not None:
        if subset not in subsets:
            raise BenchError(
                f"{benchmark} has no subset {subset!r}; valid subsets: {', '.join(subsets)}"
            )
        ids = [i for i in subsets[subset] if i in all_tasks]
    if split is not None:
        if split not in splits:
            raise BenchError(
                f"{benchmark} has no split {split!r}; valid splits: {', '.join(splits)}"
            )
        allowed = set(splits[split])
        ids = [i for i in ids if i in allowed]
    return [all_tasks[i] for i in ids]


def unknown_task(benchmark: str, instance_id: str, known: list[str]) -> BenchError:
    """The error for an id the benchmark does not have, with a few valid ones."""
    sample = ", ".join(sorted(known)[:5])
    return BenchError(
        f"{benchmark} has no task {instance_id!r} ({len(known)} tasks, e.g. {sample}); "
        f"see `agentforge bench list`"
    )

"""Running agents on tasks and grading predictions, many at a time, one failure each.

A task that crashes, hangs or whose patch does not apply becomes that task's result with
its reason; the pool keeps going.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agentforge.bench.agent_run import ModelGrant, run_agent_on_task
from agentforge.bench.protocol import Benchmark
from agentforge.bench.task import Outcome, Prediction, Task, TaskResult

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined, keep_trailing_newline=True,
)


class RunOptions(BaseModel):
    """How `bench run` runs the agent on each task."""

    agent_dir: Path
    """Agent directory (agent.toml + package), e.g. archive/base."""
    model_name: str = "agentforge"
    """Written as `model_name_or_path` in preds.jsonl."""
    agent_timeout: float = Field(1800.0, gt=0)
    """Wall-clock seconds one agent attempt may take."""
    out_dir: Path
    """Where trajectories/<id>/ and logs/<id>/ go."""
    max_trajectory_mb: float = Field(16.0, gt=0)
    """MiB of each attempt's output folder kept under trajectories/ (the rest is left out,
    and the kept trajectory.json says so)."""


def _safe(instance_id: str, work: Callable[[], TaskResult]) -> TaskResult:
    try:
        return work()
    except Exception as exc:  # one task's crash must not stop the others
        return TaskResult(
            instance_id=instance_id, outcome=Outcome.ERROR,
            reason=f"crashed: {type(exc).__name__}: {str(exc)[:500]}",
        )


def run_pool(
    jobs: dict[str, Callable[[], TaskResult]], workers: int, label: str, show: bool = True
) -> dict[str, TaskResult]:
    """Run id -> job callables on `workers` threads with a progress bar; collect every result."""
    results: dict[str, TaskResult] = {}
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}")]
    with Progress(*columns, console=Console(stderr=True), disable=not show) as progress, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        bar = progress.add_task(label, total=len(jobs), last="")
        futures = {pool.submit(_safe, i, job): i for i, job in jobs.items()}
        for future in as_completed(futures):
            result = future.result()
            results[result.instance_id] = result
            progress.update(bar, advance=1, last=f"{result.instance_id}: {result.outcome.value}")
    return results


def grade_predictions(
    benchmark: Benchmark, predictions: Iterable[Prediction], *, workers: int = 1,
    log_dir: Path | None = None, show: bool = True,
) -> dict[str, TaskResult]:
    """Grade predictions; unknown ids and empty patches are results too, with their reason."""
    known = {t.instance_id: t for t in benchmark.tasks()}
    results: dict[str, TaskResult] = {}
    jobs: dict[str, Callable[[], TaskResult]] = {}
    for prediction in predictions:
        task = known.get(prediction.instance_id)
        if task is None:
            results[prediction.instance_id] = TaskResult(
                instance_id=prediction.instance_id, outcome=Outcome.ERROR,
                reason=f"unknown instance id: {benchmark.name} has no task "
                       f"{prediction.instance_id!r}",
            )
            continue
        jobs[task.instance_id] = _grading_job(benchmark, task, prediction, log_dir)
    results.update(run_pool(jobs, workers, f"grading {benchmark.name}", show))
    return results


def _grading_job(benchmark, task, prediction, log_dir) -> Callable[[], TaskResult]:
    def job() -> TaskResult:
        result = benchmark.grade(task, prediction)
        _save_log(log_dir, task.instance_id, "test_output.txt", result.test_output)
        return result
    return job


GrantScope = Callable[[Task], AbstractContextManager[ModelGrant]]
"""An attempt-scoped grant factory: `with grants(task) as grant:` gives one agent attempt a
grant of its own, ended (revoked, its calls booked) when the block ends. The runner opens one
per attempt, so pass@2's retry never runs on the first attempt's revoked key."""


def run_benchmark(
    benchmark: Benchmark, tasks: list[Task], options: RunOptions, *, workers: int = 1,
    show: bool = True, grants: GrantScope | None = None,
) -> tuple[dict[str, TaskResult], list[Prediction]]:
    """Run the agent on each task (pass@k per the benchmark) and grade each final patch."""
    predictions: dict[str, Prediction] = {}

    def job_for(task: Task) -> Callable[[], TaskResult]:
        def job() -> TaskResult:
            result, prediction = run_one(benchmark, task, options, grants)
            predictions[task.instance_id] = prediction
            return result
        return job

    results = run_pool({t.instance_id: job_for(t) for t in tasks}, workers,
                       f"running on {benchmark.name}", show)
    ordered = [predictions.get(t.instance_id) or Prediction(
        instance_id=t.instance_id, model_name_or_path=options.model_name, model_patch="")
        for t in tasks]
    return results, ordered


def task_trajectory_dir(out_dir: Path, instance_id: str) -> Path:
    """Where a task's trajectories go under a run's output folder."""
    return out_dir / "trajectories" / instance_id


def attempt_trajectory_dir(out_dir: Path, instance_id: str, attempt: int, attempts: int) -> Path:
    """One attempt's folder: the task's folder itself, or attempt-N/ when there are several."""
    folder = task_trajectory_dir(out_dir, instance_id)
    return folder / f"attempt-{attempt}" if attempts > 1 else folder


def first_attempt_dir(out_dir: Path, instance_id: str) -> Path:
    """The first attempt's trajectory folder, whatever the number of attempts."""
    folder = task_trajectory_dir(out_dir, instance_id)
    attempts = sorted(folder.glob("attempt-*"))
    return attempts[0] if attempts else folder


def run_one(
    benchmark: Benchmark, task: Task, options: RunOptions, grants: GrantScope | None = None
) -> tuple[TaskResult, Prediction]:
    """One task: agent attempt(s) in sandboxes, each with its own grant (from `grants`; no
    model access without) and graded in a fresh sandbox."""
    start = time.monotonic()
    task = benchmark.prepare(task)
    patch, problem, result, ended, clean = "", task.problem_statement, None, "", True
    attempts = max(1, benchmark.max_attempts)
    for attempt in range(1, attempts + 1):
        trajectory_dir = attempt_trajectory_dir(options.out_dir, task.instance_id, attempt,
                                                attempts)
        # The attempt's key must not outlive it (a leftover process could otherwise keep
        # spending on the run's model), and the next attempt needs a live one.
        with grants(task) if grants else nullcontext() as grant:
            run = run_agent_on_task(
                task, options.agent_dir, problem=problem, trajectory_dir=trajectory_dir,
                timeout=options.agent_timeout, start_patch=patch, grant=grant,
                max_trajectory_bytes=int(options.max_trajectory_mb * 2**20),
            )
        _save_log(options.out_dir / "logs", task.instance_id, f"agent-{attempt}.log", run.log_tail)
        patch, ended, clean = run.patch, run.ended, run.exited_cleanly
        prediction = Prediction(instance_id=task.instance_id,
                                model_name_or_path=options.model_name, model_patch=patch)
        result = benchmark.grade(task, prediction)
        _save_log(options.out_dir / "logs", task.instance_id, "test_output.txt", result.test_output)
        if result.resolved or attempt == attempts or result.outcome is not Outcome.UNRESOLVED:
            break
        problem = _TEMPLATES.get_template("retry.md.j2").render(
            problem_statement=task.problem_statement, test_output=result.test_output[-4000:])
    assert result is not None
    if not clean and not result.resolved:
        result.reason = f"{result.reason}; agent ended: {ended}"
    result.attempts, result.duration = attempt, time.monotonic() - start
    return result, prediction


def _save_log(log_dir: Path | None, instance_id: str, name: str, text: str) -> None:
    if log_dir is None or not text:
        return
    folder = log_dir / instance_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def dump_results(path: Path, results: dict[str, TaskResult]) -> None:
    """Write every TaskResult (with test output tails) as JSON lines, for inspection."""
    with path.open("w") as handle:
        for result in results.values():
            handle.write(json.dumps(result.model_dump(mode="json")) + "\n")

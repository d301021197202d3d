"""One evaluation: the graded run (`run_evaluation`, what a workplace runs in sandboxes: the
agent's attempts on the task, then grading) and its record (`evaluate_job`, on a worker
thread of the loop: the row started, the run in the run's workplace, the row finished with
its task result in one transaction, exactly once)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentforge.bench.protocol import Benchmark
from agentforge.bench.run import (
    GrantScope,
    RunOptions,
    first_attempt_dir,
    run_one,
    task_trajectory_dir,
)
from agentforge.bench.task import Task
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.rundir.diskspace import raise_if_host_disk_full
from agentforge.evolve.workplaces.work import Booking, EvaluationWork
from agentforge.store.errors import StoreError
from agentforge.store.records import NOT_RUNNABLE, TaskResultData

if TYPE_CHECKING:  # the run is handed in; importing it would import the workplaces
    from agentforge.evolve.loop.context import RunContext


@dataclass
class EvaluationOutcome:
    """What one evaluation produced (plain data, handed back to the loop)."""

    evaluation_id: int | None
    resolved: bool
    reason: str
    crashed: bool = False
    """The agent itself crashed (no trajectory, or it recorded a crash)."""
    skipped: bool = False
    """Not run: the node became invalid meanwhile."""


def evaluate_job(ctx: RunContext, job: EvaluationJob) -> EvaluationOutcome:
    """Run one node on one task and finish its evaluation row (exactly once)."""
    store = ctx.store
    node = store.get_node(job.node_id)
    if node.status in NOT_RUNNABLE:
        return EvaluationOutcome(None, False, f"skipped: node is {node.status}", skipped=True)
    try:
        evaluation = store.start_evaluation(job.node_id, job.task_id, split=job.split,
                                            attempt=job.attempt)
    except StoreError as exc:  # already finished (a stale job): never run twice
        return EvaluationOutcome(None, False, f"skipped: {exc}", skipped=True)
    out_dir = ctx.rundir.node_dir(job.node_id) / "eval" / job.split
    config = ctx.config.evaluation
    work = EvaluationWork(Booking(ctx.run_id, job.node_id, job.task_id), ctx.benchmark_spec,
                          ctx.task(job.task_id), config.agent_timeout, config.max_trajectory_mb)
    crash = None
    try:
        graded = ctx.workplace().evaluate(work, ctx.agent_code(job.node_id), out_dir)
        resolved, reason, crash = graded.resolved, graded.reason, graded.crash
        data, seconds = graded.artefacts, graded.seconds
    except Exception as exc:  # one task's crash on our side (or a lost worker) must not
        raise_if_host_disk_full(exc)  # stop the run; a full disk must, and is not the agent's
        resolved, reason, data, seconds = False, f"evaluation error: {type(exc).__name__}: " \
            f"{str(exc)[:400]}", None, 0.0
    spend = ctx.ledger.spend(run_id=ctx.run_id, node_id=job.node_id, task_id=job.task_id)
    store.finish_evaluation(evaluation.id, resolved=resolved, reason=reason,
                            cost_usd=spend.cost_usd, tokens=spend.tokens, duration_s=seconds,
                            result=data)
    if crash is not None:
        return EvaluationOutcome(evaluation.id, resolved, crash, crashed=True)
    return EvaluationOutcome(evaluation.id, resolved, reason)


def agent_crash(trajectory_dir: Path) -> str | None:
    """Why the agent crashed, from its trajectory; None if it ended on its own terms."""
    path = trajectory_dir / "out" / "trajectory.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return "wrote no readable trajectory.json (it crashed or never started)"
    if data.get("stop_reason") == "crash":
        error = (data.get("error") or "").strip().splitlines()
        return "crashed: " + (error[-1] if error else "no details")
    return None


@dataclass(frozen=True)
class GradedRun:
    """One agent run on one task, graded: what the archive records of it."""

    resolved: bool
    reason: str
    crash: str | None
    """Why the agent crashed (from its trajectory), None if it ended on its own terms."""
    artefacts: TaskResultData
    seconds: float


def run_evaluation(benchmark: Benchmark, task: Task, agent_dir: Path, out_dir: Path, *,
                   timeout: float, grants: GrantScope | None = None,
                   max_trajectory_mb: float = 16.0) -> GradedRun:
    """Run the agent on one task (each attempt with its own grant from `grants`) and grade it."""
    started = time.monotonic()
    options = RunOptions(agent_dir=agent_dir, out_dir=out_dir, agent_timeout=timeout,
                         model_name=agent_dir.name, max_trajectory_mb=max_trajectory_mb)
    result, prediction = run_one(benchmark, task, options, grants)
    crash = agent_crash(first_attempt_dir(out_dir, task.instance_id))
    data = TaskResultData(
        patch=prediction.model_patch or "", test_output=result.test_output[-20000:],
        trajectory_path=str(task_trajectory_dir(out_dir, task.instance_id)),
        report_json=json.dumps(result.model_dump(mode="json", exclude={"test_output"})))
    return GradedRun(result.resolved, result.reason, crash, data, time.monotonic() - started)

"""One agent run on one task, graded, in sandboxes: what a workplace runs for an evaluation."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from agentforge.bench.protocol import Benchmark
from agentforge.bench.run import (
    GrantScope,
    RunOptions,
    first_attempt_dir,
    run_one,
    task_trajectory_dir,
)
from agentforge.bench.task import Task
from agentforge.store.records import TaskResultData


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

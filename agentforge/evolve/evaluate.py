"""Staged evaluation: which validation tasks a node runs next, and running one of them.

Planning is a pure function of what the archive holds (the node's finished evaluations),
so a resumed run plans exactly what the killed one would have: nothing finished is
repeated, and everything unfinished is planned again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from agentforge.bench.protocol import Benchmark
from agentforge.bench.runner import RunOptions, run_one
from agentforge.bench.task import Task
from agentforge.evolve.config import Stage
from agentforge.store.records import TaskResultData


@dataclass(frozen=True)
class StagePlan:
    """The next tasks of a node (empty and done=True when its evaluation is over)."""

    task_ids: list[str]
    done: bool
    stage: int
    """Index of the stage these tasks belong to (the last reached when done)."""


def plan_stage(finished: dict[str, bool], task_order: list[str], stages: list[Stage]) -> StagePlan:
    """Next tasks by the stages: fill the current stage; enter the next if the score allows."""
    n_done = sum(1 for t in task_order if t in finished)
    successes = sum(1 for t in task_order if finished.get(t))
    for index, stage in enumerate(stages):
        target = len(task_order) if stage.tasks is None else min(stage.tasks, len(task_order))
        if index > 0 and n_done and successes / n_done < stage.min_score:
            return StagePlan([], True, index - 1)
        missing = [t for t in task_order[:target] if t not in finished]
        if missing:
            return StagePlan(missing, False, index)
    return StagePlan([], True, len(stages) - 1)


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


def run_evaluation(benchmark: Benchmark, task: Task, agent_dir: Path, out_dir: Path, *,
                   timeout: float, grant=None) -> tuple[bool, str, str | None, TaskResultData,
                                                        float]:
    """Run the agent on one task and grade it: (resolved, reason, crash, artefacts, seconds)."""
    started = time.monotonic()
    options = RunOptions(agent_dir=agent_dir, out_dir=out_dir, agent_timeout=timeout,
                         model_name=agent_dir.name)
    result, prediction = run_one(benchmark, task, options,
                                 (lambda _task: grant) if grant is not None else None)
    trajectories = out_dir / "trajectories" / task.instance_id
    attempts = sorted(trajectories.glob("attempt-*"))
    crash = agent_crash(attempts[0] if attempts else trajectories)
    data = TaskResultData(
        patch=prediction.model_patch or "", test_output=result.test_output[-20000:],
        trajectory_path=str(trajectories),
        report_json=json.dumps(result.model_dump(mode="json", exclude={"test_output"})))
    return result.resolved, result.reason, crash, data, time.monotonic() - started


def plan_initial(finished: dict[str, bool], task_order: list[str], count: int) -> StagePlan:
    """The first `count` tasks of a child whose later evaluations the selector decides (hgm)."""
    missing = [t for t in task_order[:count] if t not in finished]
    return StagePlan(missing, not missing, 0)

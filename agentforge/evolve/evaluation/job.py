"""One evaluation as the run records it, on a worker thread: the row started, the graded run
in the run's workplace, the row finished with its task result in one transaction (exactly once)."""

from __future__ import annotations

from dataclasses import dataclass

from agentforge.evolve.loop.context import RunContext, agent_code
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.rundir.diskspace import raise_if_host_disk_full
from agentforge.evolve.workplaces.work import Booking, EvaluationWork
from agentforge.store.errors import StoreError
from agentforge.store.tables import NOT_RUNNABLE


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
        graded = ctx.workplace().evaluate(work, agent_code(ctx, job.node_id), out_dir)
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

"""The evolution loop: select a parent, improve it, evaluate the child in stages, repeat.

`EvolutionLoop` plugs its steps into the asynchronous `Scheduler`. Every decision reads the
archive, so a run killed at any moment (SIGKILL included) resumes from its directory: nodes
left `pending` are validated again, unfinished and not-yet-started evaluations are planned
again, finished ones are never repeated, and the selection RNG continues from its saved state.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

from agentforge.evolve.context import RunContext
from agentforge.evolve.diskspace import check_free_space, raise_run_stop_if_disk_full
from agentforge.evolve.evaluate import EvaluationOutcome, archive_second_best, plan_stage
from agentforge.evolve.executor import make_executor
from agentforge.evolve.operators import OperatorPlanner
from agentforge.evolve.rundir import write_json
from agentforge.evolve.scheduler import (
    EvaluationJob,
    Failure,
    Scheduler,
    SchedulerConfig,
    SchedulerReport,
    SchedulerSteps,
)
from agentforge.evolve.selection import (
    EvaluateMore,
    Expand,
    NodeView,
    NoParentAvailable,
    make_selector,
    rng_from_json,
    rng_state_to_json,
)
from agentforge.evolve.selection.base import ExpandingSelector
from agentforge.evolve.steps import evaluate_job, validate_node
from agentforge.evolve.stopping import install_stop_handlers
from agentforge.sandbox.reaper import reap
from agentforge.store.tables import NodeStatus

Progress = Callable[[dict], None]


class EvolutionLoop:
    """One run's loop over an open RunContext."""

    def __init__(self, ctx: RunContext, progress: Progress | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.selector = make_selector(ctx.config.selection.name, ctx.config.selection.options)
        self.operators = OperatorPlanner(ctx)  # how each child is made (issue 17)
        run = self.store.get_run(ctx.run_id)
        self.rng = rng_from_json(run.rng_state) if run.rng_state else random.Random(ctx.config.seed)
        self.order = [t.instance_id for t in ctx.validation]
        self.split = ctx.config.benchmark.validation_split
        self.in_flight: dict[int, set[str]] = {}
        self.progress = progress
        self.scheduler: Scheduler | None = None
        self._last_tick = 0.0
        self._started = time.monotonic()
        self._elapsed_before = float(ctx.rundir.read_live().get("elapsed_s", 0.0))

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> SchedulerReport:
        """Resume whatever the archive left open, then schedule until a budget or the end."""
        ctx, budget = self.ctx, self.ctx.config.budget
        reap()  # containers of a killed earlier process of this (or any) run
        self.store.update_run(ctx.run_id, status="running", stop_reason=None)
        for node in self.store.list_nodes(ctx.run_id):
            if node.status == NodeStatus.pending and node.parent_id is not None:
                validate_node(ctx, node.id)  # killed between commit and validation
        initial = self._open_jobs()
        executor = make_executor(ctx.config.evaluation.executor, ctx.config.evaluation.workers)
        children = sum(1 for n in self.store.list_nodes(ctx.run_id) if n.parent_id is not None)
        # A step in flight at a kill left no node and is started again: count only finished ones.
        self.store.update_run(ctx.run_id, iterations=children)
        self.scheduler = Scheduler(
            SchedulerSteps(propose=self.propose, improve=self.operators.run,
                           improved=self.improved, evaluate=lambda j: evaluate_job(ctx, j),
                           evaluated=self.evaluated, budget_exceeded=self.budget_exceeded),
            executor,
            SchedulerConfig(improve_workers=ctx.config.improve.workers,
                            eval_workers=ctx.config.evaluation.workers,
                            max_iterations=budget.max_iterations,
                            max_wall_seconds=budget.max_wall_seconds,
                            drain_seconds=budget.drain_seconds))
        restore = install_stop_handlers(self.scheduler, str(ctx.rundir.path))
        try:
            report = self.scheduler.run(initial, iterations_done=children,
                                        elapsed_before=self._elapsed_before)
        finally:
            restore()
            executor.shutdown(wait=False)
        finished = report.stop_reason in ("exhausted", "iterations")
        self.store.update_run(ctx.run_id, status="finished" if finished else "stopped",
                              stop_reason=report.stop_reason)
        self.store.add_event(ctx.run_id, "stopped", f"run {report.stop_reason}: "
                             f"{report.iterations} iterations, {report.evaluations} evaluations",
                             data={"abandoned": len(report.abandoned_evaluations)})
        self._tick(force=True, running=False)
        return report

    def _open_jobs(self) -> list[EvaluationJob]:
        jobs: list[EvaluationJob] = []
        for node in self.store.list_nodes(self.ctx.run_id):
            if node.status == NodeStatus.evaluating:
                jobs += self._next_jobs(node.id)
        planned = {(j.node_id, j.task_id) for j in jobs}
        runnable = {n.id for n in self.store.list_nodes(self.ctx.run_id)
                    if n.status in (NodeStatus.evaluating, NodeStatus.evaluated)}
        for ev in self.store.list_evaluations(self.ctx.run_id, finished=False, split=self.split):
            if ev.node_id in runnable and (ev.node_id, ev.task_id) not in planned:
                jobs.append(self._claim(ev.node_id, ev.task_id))  # an HGM extra evaluation
        return jobs

    def _claim(self, node_id: int, task_id: str) -> EvaluationJob:
        self.in_flight.setdefault(node_id, set()).add(task_id)
        return EvaluationJob(node_id=node_id, task_id=task_id, split=self.split)

    def _finished(self, node_id: int) -> dict[str, bool]:
        return {e.task_id: bool(e.resolved) for e in self.store.list_evaluations(
            self.ctx.run_id, finished=True, node_id=node_id, split=self.split)}

    def _second_best(self) -> float | None:
        """The archive's second-best score over the whole stages (DGM's full-eval threshold)."""
        tallies = [(s.successes, s.evaluated_tasks)
                   for s in self.store.node_summaries(self.ctx.run_id, split=self.split)]
        return archive_second_best(tallies, self.ctx.stages, len(self.order))

    def _next_jobs(self, node_id: int) -> list[EvaluationJob]:
        """The node's next stage of tasks, or mark it evaluated when its stages are done."""
        finished = self._finished(node_id)
        plan = plan_stage(finished, self.order, self.ctx.stages, self._second_best())
        busy = self.in_flight.get(node_id, set())
        if plan.done:
            if not busy:
                self.store.update_node(node_id, status=NodeStatus.evaluated)
            return []
        todo = [t for t in plan.task_ids if t not in busy]
        node = self.store.get_node(node_id)
        if (self.ctx.config.evaluation.first_task_alone and node.parent_id is not None
                and not finished):
            todo = [] if busy else todo[:1]  # a crash on the first task ends it cheaply
        return [self._claim(node_id, t) for t in todo]

    # -- scheduler hooks (all on the scheduler's thread) -----------------------------------

    def propose(self, can_expand: bool, can_evaluate: bool):
        """Ask the selector what to grow next; save the RNG state right after every draw."""
        if not can_expand and (not can_evaluate or isinstance(self.selector, ExpandingSelector)):
            return None
        views = self._views()
        if self.ctx.config.selection.wait_for_unscored and any(
                v.status == NodeStatus.evaluating.value and not (v.successes + v.failures)
                for v in views):
            can_expand = False
            if not can_evaluate or isinstance(self.selector, ExpandingSelector):
                return None
        plan = None
        try:
            action = self.selector.next_action(views, self.rng)
            if isinstance(action, Expand) and can_expand:  # its operator, from the same RNG
                plan = self.operators.plan(action.parent_id, views, self.rng)
        except NoParentAvailable:
            return None
        finally:
            self.store.update_run(self.ctx.run_id, rng_state=rng_state_to_json(self.rng))
        if isinstance(action, Expand) and can_expand:
            run = self.store.get_run(self.ctx.run_id)
            self.store.update_run(self.ctx.run_id, iterations=run.iterations + 1)
            self.store.add_event(self.ctx.run_id, "expand", f"improving node {action.parent_id}",
                                 node_id=action.parent_id, data=plan)
            return action
        if isinstance(action, EvaluateMore) and can_evaluate:
            finished, busy = self._finished(action.node_id), self.in_flight.get(action.node_id,
                                                                                set())
            rest = [t for t in self.order if t not in finished and t not in busy]
            return [self._claim(action.node_id, rest[0])] if rest else None
        return None

    def _views(self) -> list[NodeView]:
        return [NodeView(id=s.id, parent_id=s.parent_id, successes=s.successes,
                         failures=s.failures, status=str(s.status.value),
                         tasks_left=len(self.order) - s.evaluated_tasks)
                for s in self.store.node_summaries(self.ctx.run_id, split=self.split)]

    def improved(self, parent_id: int, outcome) -> list[EvaluationJob]:
        """A step ended: a valid child starts its evaluation; a crash becomes a failed node."""
        if isinstance(outcome, Failure):
            raise_run_stop_if_disk_full(outcome.error, self.ctx.rundir.path)  # not the child's
            node = self.store.add_node(self.ctx.run_id, parent_id=parent_id,
                                       status=NodeStatus.failed,
                                       reason=f"self-improvement crashed: {outcome.reason}"[:2000])
            self.operators.record_crash(node.id, parent_id)
            self.store.add_event(self.ctx.run_id, "failed", outcome.reason[:300], node_id=node.id)
            return []
        node = self.store.get_node(outcome)
        self._tick(force=True)
        return self._next_jobs(node.id) if node.status == NodeStatus.evaluating else []

    def evaluated(self, job: EvaluationJob, outcome) -> list[EvaluationJob]:
        """An evaluation ended: a child's crash on its first task invalidates it; else plan on."""
        self.in_flight.get(job.node_id, set()).discard(job.task_id)
        if isinstance(outcome, Failure):
            raise_run_stop_if_disk_full(outcome.error, self.ctx.rundir.path)
            self.store.add_event(self.ctx.run_id, "eval_error", outcome.reason[:300],
                                 node_id=job.node_id)
            return []
        assert isinstance(outcome, EvaluationOutcome)
        self._tick(force=True)
        if outcome.skipped:
            return []
        node = self.store.get_node(job.node_id)
        if (outcome.crashed and not outcome.resolved and node.parent_id is not None
                and len(self._finished(node.id)) == 1):
            self.store.update_node(node.id, status=NodeStatus.invalid,
                                   reason=f"crash on its first task {job.task_id}: "
                                          f"{outcome.reason}"[:2000])
            return []
        if node.status != NodeStatus.evaluating or self.in_flight.get(node.id):
            return []
        return self._next_jobs(node.id)

    def budget_exceeded(self) -> str | None:
        """Dollars or tokens of the run, from the ledger (polled; also drives live progress)."""
        check_free_space(self.ctx.rundir.path)  # stop before a write fails half-way
        self._tick()
        budget = self.ctx.config.budget
        if budget.max_usd is None and budget.max_tokens is None:
            return None
        spend = self.ctx.ledger.spend(run_id=self.ctx.run_id)
        if budget.max_usd is not None and spend.cost_usd >= budget.max_usd:
            return f"dollars: ${spend.cost_usd:.4f} of ${budget.max_usd:.4f} spent"
        if budget.max_tokens is not None and spend.tokens >= budget.max_tokens:
            return f"tokens: {spend.tokens} of {budget.max_tokens} used"
        # The gateway refuses calls whose worst case no longer fits: then the run is done too.
        return self.ctx.gateway.run_budget_exhausted(self.ctx.run_id)

    # -- live progress ---------------------------------------------------------------------

    def _tick(self, force: bool = False, running: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._last_tick < 2.0:
            return
        self._last_tick = now
        flight = self.scheduler.in_flight() if self.scheduler and running else None
        snapshot = {
            "running": running, "pid": os.getpid(), "updated_at": time.time(),
            "elapsed_s": self._elapsed_before + now - self._started,
            "improving": flight.improving if flight else [],
            "evaluating": [{"node_id": j.node_id, "task_id": j.task_id, "split": j.split}
                           for j in (flight.evaluating if flight else [])],
            "queued": flight.queued if flight else 0,
        }
        write_json(self.ctx.rundir.live_file, snapshot)
        if self.progress is not None:
            self.progress(snapshot)


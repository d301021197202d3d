"""One evolution run: what the loop decides at each turn and how it records each outcome.

The loop itself is the scheduler (scheduler.py `Scheduler.run`): it keeps the workers busy
and calls back here. `EvolutionRun` answers its questions (`propose`: the next child or
evaluation, by the search policy) and records what comes back (`on_improvement_done`,
`on_evaluation_done`: the archive), with budgets and live progress. Every decision reads the
archive, so a run killed at any moment (SIGKILL included) resumes from its directory: nodes
left `pending` are validated again, unfinished and not-yet-started evaluations are planned
again, finished ones are never repeated, and the selection RNG continues from its saved state.

One child's path (docs/architecture.md, "One child, step by step": 18 hops, 12 files):
scheduler.py (the loop) -> here (propose, on_improvement_done, on_evaluation_done) ->
search.py (the parent; a child's stages) -> operators/planner.py (the StepPlan) ->
operators/self_edit.py -> diagnose.py -> implement.py -> store/repo.py -> operators/child.py
(the node, validate_node) -> validation/agent.py -> evaluation/job.py -> bench/run.py.
Tied top nodes grow onto validation tasks beyond the cap here too (`_grow`, loop/growth.py).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict

from agentforge.evolve.evaluation.job import EvaluationOutcome, evaluate_job
from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.growth import growth_levels, growth_stages, horizons
from agentforge.evolve.loop.scheduler import (
    EvaluationJob,
    Failure,
    Scheduler,
    SchedulerConfig,
    SchedulerReport,
    SchedulerSteps,
)
from agentforge.evolve.loop.search import SearchPolicy, archive_second_best
from agentforge.evolve.loop.stopping import install_stop_handlers
from agentforge.evolve.operators.child import failed_child, settle_child
from agentforge.evolve.operators.planner import OperatorPlanner
from agentforge.evolve.report.status import FINISHED_REASONS
from agentforge.evolve.rundir import write_json
from agentforge.evolve.rundir.diskspace import check_free_space, raise_run_stop_if_disk_full
from agentforge.evolve.selection import (
    EvaluateMore,
    Expand,
    make_selector,
    rng_from_json,
    rng_state_to_json,
)
from agentforge.evolve.step import StepOutcome, StepPlan
from agentforge.store.records import VALIDATED, NodeStatus

Progress = Callable[[dict], None]


class EvolutionRun:
    """One run over an open RunContext: the scheduler's loop calls its hooks."""

    def __init__(self, ctx: RunContext, progress: Progress | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.selector = make_selector(ctx.config.selection.name, ctx.config.selection.options)
        self.operators = OperatorPlanner(ctx)  # how each child is made
        run = self.store.get_run(ctx.run_id)
        self.rng = rng_from_json(run.rng_state) if run.rng_state else random.Random(ctx.config.seed)
        self.order = [t.instance_id for t in ctx.validation]
        self.split = ctx.config.benchmark.validation_split
        config = ctx.config
        pool = [t.instance_id for t in ctx.validation_pool]
        self.policy = SearchPolicy(self.selector, self.rng, self.order, ctx.stages,
                                   first_task_alone=config.evaluation.first_task_alone,
                                   wait_for_unscored=config.selection.wait_for_unscored,
                                   pool=pool)
        self.growth_levels = growth_levels(len(self.order), len(pool), config.evaluation.growth)
        self._grown = {(size, node) for e in self.store.list_events(ctx.run_id)
                       if e.kind == "grow" for node, size in _grow_data(e.data_json)}
        """(size, node) pairs the event log already announced (a resume says nothing twice)."""
        self.progress = progress
        self.scheduler: Scheduler | None = None
        self._last_tick = 0.0
        self._started = time.monotonic()
        self._elapsed_before = float(ctx.rundir.read_live().get("elapsed_s", 0.0))

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> SchedulerReport:
        """Resume whatever the archive left open, then schedule until a budget or the end."""
        ctx, budget = self.ctx, self.ctx.config.budget
        # Join the Ray cluster (or fail on a bad address) before any work; then remove the
        # containers of a killed earlier process of this (or any) run.
        ctx.workplace().remove_leftovers()
        self.store.update_run(ctx.run_id, status="running", stop_reason=None)
        for node in self.store.list_nodes(ctx.run_id):
            if node.status == NodeStatus.pending and node.parent_id is not None:
                settle_child(ctx, node.id)  # killed between commit and validation
        initial = self._open_jobs()
        # Threads for both pools: the scheduler lends a self-improvement worker with no step to
        # make to evaluations (it holds steps to improve.workers, and all work to the sum).
        executor = LocalExecutor(ctx.config.evaluation.workers + ctx.config.improve.workers,
                                 name="agentforge-eval")
        children = sum(1 for n in self.store.list_nodes(ctx.run_id) if n.parent_id is not None)
        # A step in flight at a kill left no node and is started again: count only finished ones.
        self.store.update_run(ctx.run_id, iterations=children)
        self.scheduler = Scheduler(
            SchedulerSteps(propose=self.propose,
                           run_improvement=self.operators.run,
                           on_improvement_done=self.on_improvement_done,
                           run_evaluation=lambda j: evaluate_job(ctx, j),
                           on_evaluation_done=self.on_evaluation_done,
                           budget_exceeded=self.budget_exceeded,
                           draining=self._tick),
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
        finished = report.stop_reason in FINISHED_REASONS
        self.store.update_run(ctx.run_id, status="finished" if finished else "stopped",
                              stop_reason=report.stop_reason)
        self.store.add_event(ctx.run_id, "stopped", f"run {report.stop_reason}: "
                             f"{report.iterations} iterations, {report.evaluations} evaluations",
                             data={"abandoned": len(report.abandoned_evaluations)})
        self._tick(force=True, running=False)
        return report

    def _open_jobs(self) -> list[EvaluationJob]:
        jobs = self._grow()
        for node in self.store.list_nodes(self.ctx.run_id):
            if node.status == NodeStatus.evaluating:
                jobs += self._next_jobs(node.id)
        planned = {(j.node_id, j.task_id) for j in jobs}
        runnable = {n.id for n in self.store.list_nodes(self.ctx.run_id)
                    if n.status in VALIDATED}
        for ev in self.store.list_evaluations(self.ctx.run_id, finished=False, split=self.split):
            if ev.node_id in runnable and (ev.node_id, ev.task_id) not in planned:
                jobs.append(self._claim(ev.node_id, ev.task_id))  # an HGM extra evaluation
        return jobs

    def _claim(self, node_id: int, task_id: str) -> EvaluationJob:
        return EvaluationJob(node_id=node_id, task_id=self.policy.claim(node_id, task_id),
                             split=self.split)

    def _finished(self, node_id: int) -> dict[str, bool]:
        return {e.task_id: bool(e.resolved) for e in self.store.list_evaluations(
            self.ctx.run_id, finished=True, node_id=node_id, split=self.split)}

    def _second_best(self) -> float | None:
        """The archive's second-best score over the whole stages (DGM's full-eval threshold)."""
        tallies = [(s.successes, s.evaluated_tasks)
                   for s in self.store.node_summaries(self.ctx.run_id, split=self.split)]
        return archive_second_best(tallies, self.ctx.stages, len(self.order))

    def _next_jobs(self, node_id: int) -> list[EvaluationJob]:
        """The node's next planned tasks, or mark it evaluated when its plan is done."""
        node = self.store.get_node(node_id)
        planned = self.policy.next_tasks(node_id, node.parent_id is None,
                                         self._finished(node_id), self._second_best())
        if planned.finished:
            self.store.update_node(node_id, status=NodeStatus.evaluated)
        return [EvaluationJob(node_id=node_id, task_id=t, split=self.split)
                for t in planned.task_ids]

    def _grow(self) -> list[EvaluationJob]:
        """Widen the tied top nodes' evaluated set (loop/growth.py): each newly grown
        node goes to the event log with the reason; unless the selector decides each task
        (hgm: growth only gives it more to choose from), an evaluated node's tasks are queued."""
        if len(self.growth_levels) < 2:
            return []
        run_id, top_k = self.ctx.run_id, self.ctx.config.finalize.top_k
        status = {n.id: n.status for n in self.store.list_nodes(run_id)}
        finished: dict[int, dict[str, bool]] = {}
        for e in self.store.list_evaluations(run_id, finished=True, split=self.split):
            if status.get(e.node_id) in VALIDATED:
                finished.setdefault(e.node_id, {})[e.task_id] = bool(e.resolved)
        stages = growth_stages(finished, self.policy.grown_order, self.growth_levels, top_k)
        self.policy.horizons = horizons(stages)
        for stage in stages:
            new = [n for n in stage.nodes if (stage.size, n) not in self._grown]
            if new:
                self._grown.update((stage.size, n) for n in new)
                self.store.add_event(run_id, "grow", stage.reason(top_k),
                                     data={"size": stage.size, "from": stage.from_size,
                                           "nodes": list(stage.nodes), "new": new,
                                           "tie": stage.tie})
        if self.policy.decides_each_task:
            return []
        jobs: list[EvaluationJob] = []
        for node_id, size in self.policy.horizons.items():
            due = set(self.policy.grown_order[:size]) - set(finished.get(node_id, {}))
            # An evaluating node plans its growth on its own; an evaluated one starts again.
            if status[node_id] == NodeStatus.evaluated and due - self.policy.busy(node_id):
                self.store.update_node(node_id, status=NodeStatus.evaluating)
                jobs += self._next_jobs(node_id)
        return jobs

    # -- scheduler hooks (all on the scheduler's thread) -----------------------------------

    def propose(self, can_expand: bool, can_evaluate: bool):
        """Ask the selector what to grow next; save the RNG state right after every draw."""
        if not self.policy.wants_work(can_expand, can_evaluate):
            return None
        summaries = self.store.node_summaries(self.ctx.run_id, split=self.split)
        plan = None
        try:
            action = self.policy.decide(summaries, can_expand, can_evaluate,
                                        self.scheduler is not None
                                        and self.scheduler.expansion_over())
            if isinstance(action, Expand):  # its operator, drawn from the same RNG
                plan = self.operators.plan(action.parent_id, self.policy.views(summaries),
                                           self.rng)
        finally:
            self.store.update_run(self.ctx.run_id, rng_state=rng_state_to_json(self.rng))
        if plan is not None:
            self.policy.expansions += 1
            run = self.store.get_run(self.ctx.run_id)
            self.store.update_run(self.ctx.run_id, iterations=run.iterations + 1)
            self.store.add_event(self.ctx.run_id, "expand", f"improving node {plan.parent_id}",
                                 node_id=plan.parent_id, data=asdict(plan))
            return plan
        if isinstance(action, EvaluateMore):
            task = self.policy.more_task(action.node_id, self._finished(action.node_id))
            return [EvaluationJob(node_id=action.node_id, task_id=task, split=self.split)
                    ] if task else None
        return None

    def on_improvement_done(self, plan: StepPlan, outcome) -> list[EvaluationJob]:
        """A step ended: a valid child starts its evaluation; a crash becomes a failed node."""
        self.policy.expansions = max(self.policy.expansions - 1, 0)
        if isinstance(outcome, Failure):
            raise_run_stop_if_disk_full(outcome.error, self.ctx.rundir.path)  # not the child's
            failed_child(self.ctx, plan, f"self-improvement crashed: {outcome.reason}")
            return []
        assert isinstance(outcome, StepOutcome)
        node = self.store.get_node(outcome.node_id)
        self._tick(force=True)
        if outcome.copy_of is not None:  # the child is an agent the archive already scored
            return []
        return self._next_jobs(node.id) if node.status == NodeStatus.evaluating else []

    def on_evaluation_done(self, job: EvaluationJob, outcome) -> list[EvaluationJob]:
        """An evaluation ended: a child's crash on its first task invalidates it; else plan on."""
        self.policy.release(job.node_id, job.task_id)
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
            reason = f"crash on its first task {job.task_id}: {outcome.reason}"[:2000]
            self.store.update_node(node.id, status=NodeStatus.invalid, reason=reason)
            for copy in self.store.list_nodes(self.ctx.run_id):
                if copy.copy_of == node.id:  # the same agent: invalid as well
                    self.store.update_node(copy.id, status=NodeStatus.invalid,
                                           reason=f"node {node.id}'s agent: {reason}"[:2000])
            return []
        grown = self._grow()  # before the node's own plan: it may be due growth itself
        if node.status != NodeStatus.evaluating or self.policy.busy(node.id):
            return grown
        return grown + self._next_jobs(node.id)

    def budget_exceeded(self) -> str | None:
        """Dollars or tokens of the run, from the ledger (polled; also drives live progress)."""
        check_free_space(self.ctx.rundir.path)  # stop before a write fails half-way
        self._tick()
        return self.ctx.spent()

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
            "stopping": bool(self.scheduler and self.scheduler.stopping),
        }
        write_json(self.ctx.rundir.live_file, snapshot)
        if self.progress is not None:
            self.progress(snapshot)


def _grow_data(data_json: str | None) -> list[tuple[int, int]]:
    """(node, size) pairs a `grow` event announced."""
    data = json.loads(data_json or "{}")
    return [(node, data["size"]) for node in data.get("new", [])]

"""The real Scheduler on simulated time: exact timings, and hgm keeping every worker busy."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from agentforge.evolve.config import Stage
from agentforge.evolve.loop.scheduler import (
    EvaluationJob,
    Scheduler,
    SchedulerConfig,
    SchedulerSteps,
)
from agentforge.evolve.loop.search import SearchPolicy
from agentforge.evolve.loop.simclock import SimulatedExecutor, VirtualClock
from agentforge.evolve.selection import EvaluateMore, Expand, make_selector
from agentforge.evolve.step import StepPlan

TASKS = [f"t{i}" for i in range(20)]


def test_jobs_finish_in_simulated_time_order():
    clock = VirtualClock()
    finished: list[tuple[float, str]] = []
    steps = SchedulerSteps(
        propose=lambda can_expand, can_evaluate: None, run_improvement=lambda parent: parent,
        on_improvement_done=lambda parent, outcome: [],
        run_evaluation=lambda job: job.task_id,
        on_evaluation_done=lambda job, outcome: finished.append((clock.now, outcome)) or [])
    durations = {"a": 3.0, "b": 1.0, "c": 1.0, "d": 1.5}
    executor = SimulatedExecutor(clock, lambda job: durations[job.task_id])
    scheduler = Scheduler(steps, executor, SchedulerConfig(eval_workers=2), clock=clock)
    report = scheduler.run([EvaluationJob(1, t) for t in "abcd"])
    # Two workers: a runs 0-3; b 0-1; c 1-2; d 2-3.5 (d finishes after a).
    assert finished == [(1.0, "b"), (2.0, "c"), (3.0, "a"), (3.5, "d")]
    assert (report.stop_reason, report.evaluations, report.elapsed_s) == ("exhausted", 4, 3.5)


@dataclass
class Row:
    """An archive row as the policy reads it."""

    id: int
    parent_id: int | None
    status: str
    successes: int = 0
    failures: int = 0
    finished: dict[str, bool] = field(default_factory=dict)


class TinyRun:
    """A selector (hgm unless named) on a toy archive: improving takes 10 time units (unless
    given), an evaluation 1; every even task is solved. The seed has run its 2 tasks, unless
    `seed_evaluated` is False: then its first stage is the run's initial jobs."""

    def __init__(self, improve_workers: int, eval_workers: int, iterations: int, *,
                 selector: str = "hgm", stages: tuple[Stage, ...] = (Stage(tasks=2),),
                 improve_seconds: float = 10.0, seed_evaluated: bool = True,
                 executor_capacity: int = 1) -> None:
        self.clock = VirtualClock()
        seed_results = {"t0": True, "t1": False}
        self.rows = [Row(0, None, "evaluated", 1, 1, seed_results) if seed_evaluated
                     else Row(0, None, "evaluating")]
        self.policy = SearchPolicy(make_selector(selector), random.Random(0), TASKS, stages)
        self.started: list[tuple[float, str]] = []
        self.ran: list[tuple[float, EvaluationJob]] = []
        steps = SchedulerSteps(propose=self.propose, run_improvement=lambda parent: parent,
                               on_improvement_done=self.improved,
                               run_evaluation=self.evaluate,
                               on_evaluation_done=self.evaluated)
        self.scheduler = Scheduler(
            steps, SimulatedExecutor(self.clock, lambda job: 1.0, executor_capacity),
            SchedulerConfig(improve_workers=improve_workers, eval_workers=eval_workers,
                            max_iterations=iterations),
            improve_executor=SimulatedExecutor(self.clock, lambda plan: improve_seconds),
            clock=self.clock)
        self.initial = [] if seed_evaluated else self._next(self.rows[0])

    def propose(self, can_expand: bool, can_evaluate: bool):
        action = self.policy.decide(self.rows, can_expand, can_evaluate,
                                    self.scheduler.expansion_over())
        if isinstance(action, Expand):
            self.policy.expansions += 1
            self.started.append((self.clock.now, "expand"))
            return StepPlan.new(action.parent_id)
        if isinstance(action, EvaluateMore):
            task = self.policy.more_task(action.node_id, self.rows[action.node_id].finished)
            self.started.append((self.clock.now, "evaluate"))
            return [EvaluationJob(action.node_id, task)]
        return None

    def improved(self, plan: StepPlan, outcome) -> list[EvaluationJob]:
        self.policy.expansions -= 1
        child = Row(len(self.rows), plan.parent_id, "evaluating")
        self.rows.append(child)
        return self._next(child)

    def evaluate(self, job: EvaluationJob) -> bool:
        self.ran.append((self.clock.now - 1.0, job))  # called as it ends, 1 unit after its start
        return int(job.task_id[1:]) % 2 == 0

    def evaluated(self, job: EvaluationJob, solved: bool) -> list[EvaluationJob]:
        self.policy.release(job.node_id, job.task_id)
        row = self.rows[job.node_id]
        row.finished[job.task_id] = solved
        row.successes += solved
        row.failures += not solved
        return self._next(row) if row.status == "evaluating" else []

    def _next(self, row: Row) -> list[EvaluationJob]:
        planned = self.policy.next_tasks(row.id, row.parent_id is None, row.finished)
        if planned.finished:
            row.status = "evaluated"
        return [EvaluationJob(row.id, t) for t in planned.task_ids]


def test_hgm_keeps_evaluation_workers_busy_while_the_improve_worker_is_busy():
    run = TinyRun(improve_workers=1, eval_workers=2, iterations=3)
    run.scheduler.run()
    # t=0: N = 0 (the seed's evaluations do not count), 0 >= 1 - 1: expand. The one improve
    # worker is then busy for 10 units; the rule would expand again, but evaluating instead
    # keeps both evaluation workers busy: 2 per unit of time, 20 before the child arrives.
    assert run.started[0] == (0.0, "expand")
    early = [t for t, kind in run.started if kind == "evaluate" and t < 10]
    assert len(early) == 18  # the seed's 18 unstarted tasks: then nothing is left to start
    assert max(early) == 8.0


def test_hgm_counts_expansions_in_flight():
    # Two improve workers: at t=0 the first expands (0 >= 0), the second sees 0 >= 0 + 1 fail
    # and evaluates instead of expanding from the same stale tree.
    run = TinyRun(improve_workers=2, eval_workers=2, iterations=4)
    run.scheduler.run()
    at_start = [kind for t, kind in run.started if t == 0.0]
    assert at_start == ["expand", "evaluate", "evaluate"]


def test_past_the_iteration_budget_hgm_evaluates_until_its_rule_would_expand():
    run = TinyRun(improve_workers=1, eval_workers=2, iterations=2)
    report = run.scheduler.run()
    # t=10 child 1 arrives and runs its initial task; t=11 N = 1 >= 1**0.6: the second (last)
    # expansion. From then on only evaluations, while N**0.6 < (tree 2 - 1) + 1 in flight:
    # N = 2, 3 (2**0.6 = 1.52, 3**0.6 = 1.93) go on, N = 4 (2.30) ends the search.
    # Child 2 arrives at t=21 and runs its planned initial task: N = 5.
    assert report.stop_reason == "iterations" and report.iterations == 2
    children = [(r.id, r.successes + r.failures) for r in run.rows if r.parent_id is not None]
    assert children == [(1, 4), (2, 1)]
    after_budget = [t for t, kind in run.started if kind == "evaluate" and t >= 11.0]
    assert len(after_budget) == 2


DGM_LIKE = (Stage(tasks=2), Stage(tasks=None, min_score=0.4))


def test_a_new_childs_first_task_starts_before_a_queued_later_stage():
    # dgm waits for every child's first result before it expands again (wait_for_unscored).
    # t=1: the seed scores 1/2 and queues its 18 other tasks; the one step starts (3 units).
    # t=4: the child arrives as two evaluation workers free up: its first task takes one of
    # them at once, ahead of the seed's 12 queued tasks; t=5: its result lets dgm expand.
    run = TinyRun(improve_workers=1, eval_workers=2, iterations=2, selector="dgm",
                  stages=DGM_LIKE, improve_seconds=3.0, seed_evaluated=False)
    run.scheduler.run(run.initial)
    child_first = next(t for t, job in run.ran if job.node_id == 1)
    assert child_first == 4.0
    assert [t for t, kind in run.started if kind == "expand"] == [1.0, 5.0]


def test_a_free_improve_worker_evaluates_while_it_has_no_step_to_make():
    # One improve + one evaluation worker; the executor holds both. t=0: dgm waits for the
    # seed's first result (wait_for_unscored), so the improve worker, with no step to make,
    # takes a second task. t=1: the seed is scored; the run's only step starts at once (2
    # units): one evaluation at a time while it runs. t=3: the budget is spent and the
    # step's worker is free: two evaluations from then on.
    run = TinyRun(improve_workers=1, eval_workers=1, iterations=1, selector="dgm",
                  stages=(Stage(tasks=6),), improve_seconds=2.0, seed_evaluated=False,
                  executor_capacity=2)
    report = run.scheduler.run(run.initial)
    starts = Counter(t for t, _ in run.ran)
    assert [t for t, kind in run.started if kind == "expand"] == [1.0]
    assert [starts[t] for t in (0.0, 1.0, 2.0)] == [2, 1, 1]
    assert all(starts[t] == 2 for t in (3.0, 4.0, 5.0, 6.0))
    # 12 evaluations: 2 at t=0, 1 at t=1 and t=2, then 8 on two workers from t=3 to t=7.
    assert (report.stop_reason, report.evaluations, report.elapsed_s) == ("iterations", 12, 7.0)

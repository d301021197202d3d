"""The scheduler with real callables that sleep and compute, a real SQLite store and a real
selector: no barrier, failures recorded, budgets that stop cleanly."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.scheduler import (
    EvaluationJob,
    Failure,
    Scheduler,
    SchedulerConfig,
    SchedulerError,
    SchedulerSteps,
)
from agentforge.evolve.selection import NoParentAvailable, make_selector
from agentforge.evolve.step import StepPlan
from agentforge.store import NodeStatus, SqlStore

TASKS = [f"task-{i}" for i in range(8)]


class ToyEvolution:
    """A small evolution loop on the real store: quality drifts from parent to child, each
    evaluation is a deterministic draw of it, and evaluation is staged (3 tasks, then 5 more
    if at least one of the first 3 resolved)."""

    def __init__(
        self,
        store: SqlStore,
        *,
        selector: str = "dgm",
        eval_seconds=lambda job: 0.02,
        improve_seconds: float = 0.05,
        broken_parents: int = 0,
        failing_tasks: frozenset[str] = frozenset(),
        cost_per_eval: float = 0.0,
        usd_budget: float | None = None,
    ) -> None:
        self.store = store
        self.run = store.create_run("run")
        self.selector = make_selector(selector)
        self.rng = random.Random(11)
        self.eval_seconds = eval_seconds
        self.improve_seconds = improve_seconds
        self.broken_every = broken_parents
        self.failing_tasks = failing_tasks
        self.cost_per_eval = cost_per_eval
        self.usd_budget = usd_budget
        self.quality: dict[int, float] = {}
        self.pending: dict[EvaluationJob, int] = {}  # job -> evaluation row id
        self.improve_calls = 0
        self.timeline: list[tuple[str, float, object]] = []
        self._lock = threading.Lock()
        seed = store.add_node("run", parent_id=None, status=NodeStatus.evaluating)
        self.quality[seed.id] = 0.4
        self.seed_jobs = self._plan(seed.id, TASKS[:3])

    # bookkeeping on the run() thread ----------------------------------------------------

    def _plan(self, node_id: int, tasks) -> list[EvaluationJob]:
        jobs = [EvaluationJob(node_id, t) for t in tasks]
        for job in jobs:
            self.pending[job] = self.store.start_evaluation(node_id, job.task_id).id
        return jobs

    def steps(self) -> SchedulerSteps:
        return SchedulerSteps(
            propose=self.propose,
            run_improvement=self.improve,
            on_improvement_done=self.improved,
            run_evaluation=self.evaluate,
            on_evaluation_done=self.evaluated,
            budget_exceeded=self.budget_exceeded,
        )

    def propose(self, can_expand: bool, can_evaluate: bool):
        if not can_expand:
            return None
        try:
            return StepPlan.new(self.selector.select_parent(self.store.node_summaries("run"),
                                                            self.rng))
        except NoParentAvailable:
            return None

    def improved(self, plan: StepPlan, outcome) -> list[EvaluationJob]:
        parent_id = plan.parent_id
        if isinstance(outcome, Failure):
            self.store.add_node(
                "run", parent_id=parent_id, status=NodeStatus.failed, reason=outcome.reason
            )
            return []
        child = self.store.add_node("run", parent_id=parent_id, status=NodeStatus.evaluating)
        self.quality[child.id] = outcome
        self.timeline.append(("child", time.monotonic(), child.id))
        return self._plan(child.id, TASKS[:3])

    def evaluated(self, job: EvaluationJob, outcome) -> list[EvaluationJob]:
        resolved = not isinstance(outcome, Failure) and outcome
        reason = outcome.reason if isinstance(outcome, Failure) else None
        self.store.finish_evaluation(
            self.pending.pop(job),
            resolved=bool(resolved),
            reason=reason,
            cost_usd=self.cost_per_eval,
        )
        self.timeline.append(("evaluated", time.monotonic(), job))
        if any(j.node_id == job.node_id for j in self.pending):
            return []  # the stage is still running
        done = self.store.list_evaluations("run", node_id=job.node_id, finished=True)
        if len(done) == 3 and any(e.resolved for e in done):
            return self._plan(job.node_id, TASKS[3:])
        self.store.update_node(job.node_id, status=NodeStatus.evaluated)
        return []

    def budget_exceeded(self) -> str | None:
        if self.usd_budget is None:
            return None
        spent = sum(e.cost_usd for e in self.store.list_evaluations("run", finished=True))
        return f"${spent:.2f} spent of ${self.usd_budget:.2f}" if spent >= self.usd_budget else None

    # work on the worker threads ---------------------------------------------------------

    def improve(self, plan: StepPlan) -> float:
        with self._lock:
            self.improve_calls += 1
            call = self.improve_calls
        time.sleep(self.improve_seconds)
        if self.broken_every and call % self.broken_every == 0:
            raise RuntimeError(f"the implementation of attempt {call} crashed")
        noise = random.Random(call).gauss(0.02, 0.1)
        return min(1.0, max(0.0, self.quality[plan.parent_id] + noise))

    def evaluate(self, job: EvaluationJob) -> bool:
        self.timeline.append(("started", time.monotonic(), job))
        time.sleep(self.eval_seconds(job))
        if job.task_id in self.failing_tasks:
            raise ValueError(f"grader crashed on {job.task_id}")
        # A deterministic draw per (node, task): running the same job twice gives the same answer.
        return random.Random(f"{job.node_id}/{job.task_id}").random() < self.quality[job.node_id]


def _assert_consistent(store: SqlStore, report) -> None:
    """Finished evaluations are unique and point to nodes; unfinished ones were abandoned."""
    finished = store.list_evaluations("run", finished=True)
    keys = Counter((e.node_id, e.task_id, e.split, e.attempt) for e in finished)
    assert all(n == 1 for n in keys.values())
    node_ids = {n.id for n in store.list_nodes("run")}
    assert {e.node_id for e in store.list_evaluations("run")} <= node_ids
    unfinished = {(e.node_id, e.task_id) for e in store.list_evaluations("run", finished=False)}
    assert unfinished == {(j.node_id, j.task_id) for j in report.abandoned_evaluations}


@pytest.fixture
def store(tmp_path):
    store = SqlStore.open(tmp_path / "run.db")
    yield store
    store.close()


def test_an_iteration_budget_finishes_every_child_and_leaves_a_consistent_archive(store):
    toy = ToyEvolution(store)
    with LocalExecutor(3) as executor:
        config = SchedulerConfig(improve_workers=2, max_iterations=8)
        report = Scheduler(toy.steps(), executor, config).run(toy.seed_jobs)
    assert report.stop_reason == "iterations"
    assert report.iterations == 8 and report.failures == 0
    nodes = store.list_nodes("run")
    assert len(nodes) == 9
    assert all(n.status == NodeStatus.evaluated for n in nodes)
    assert report.evaluations == len(store.list_evaluations("run", finished=True))
    assert report.abandoned_evaluations == [] and report.abandoned_improvements == []
    _assert_consistent(store, report)
    # Staging: every node ran 3 tasks, and 8 when one of its first 3 resolved.
    for node in nodes:
        done = store.list_evaluations("run", node_id=node.id)
        assert len(done) in (3, 8)
        assert (len(done) == 8) == any(e.resolved for e in done[:3])


def test_free_improve_workers_evaluate_only_when_no_step_is_wanted(store):
    toy = ToyEvolution(store, eval_seconds=lambda job: 0.1)
    steps = toy.steps()
    lock, running, starts, expands = threading.Lock(), [0], [], []

    def evaluate(job):
        with lock:
            running[0] += 1
            starts.append((time.monotonic(), running[0]))
        try:
            return toy.evaluate(job)
        finally:
            with lock:
                running[0] -= 1

    def propose(can_expand, can_evaluate):
        action = toy.propose(can_expand, can_evaluate)
        if action is not None:
            expands.append(time.monotonic())
        return action

    steps.run_evaluation, steps.propose = evaluate, propose
    # The executor holds both pools' threads, as a run's does.
    with LocalExecutor(5) as executor:
        config = SchedulerConfig(improve_workers=2, eval_workers=3, max_iterations=4)
        report = Scheduler(steps, executor, config).run(toy.seed_jobs)
    assert report.stop_reason == "iterations" and len(expands) == 4
    before = [n for t, n in starts if t < expands[-1]]
    after = [n for t, n in starts if t > expands[-1]]
    # The toy always has a step to make while the budget lasts, so no worker is lent before.
    assert before and max(before) <= 3  # steps could still start: evaluations kept to 3
    assert max(after) > 3  # the budget is spent: the 2 step workers join the 3
    assert max(after) <= 5
    _assert_consistent(store, report)


def test_no_generation_barrier(store):
    # The seed's last task is very slow; children must be made and evaluated meanwhile.
    def seconds(job):
        return 3.0 if (job.node_id, job.task_id) == (1, "task-2") else 0.02

    toy = ToyEvolution(store, selector="best-of-n", eval_seconds=seconds)
    # best-of-n expands the seed only once it is scored: give it a score with one finished task
    # before the slow one ends (the seed's first two tasks are fast).
    with LocalExecutor(3) as executor:
        config = SchedulerConfig(improve_workers=2, max_iterations=4)
        report = Scheduler(toy.steps(), executor, config).run(toy.seed_jobs)
    slow_done = next(
        t
        for kind, t, job in toy.timeline
        if kind == "evaluated" and job == EvaluationJob(1, "task-2")
    )
    child_evaluations_before = [
        job
        for kind, t, job in toy.timeline
        if kind == "evaluated" and job.node_id != 1 and t < slow_done
    ]
    assert len(child_evaluations_before) >= 3, toy.timeline
    assert report.stop_reason == "iterations"
    _assert_consistent(store, report)


def test_failing_steps_are_recorded_and_the_run_goes_on(store):
    toy = ToyEvolution(store, broken_parents=3, failing_tasks=frozenset({"task-1"}))
    with LocalExecutor(2) as executor:
        config = SchedulerConfig(improve_workers=2, max_iterations=9)
        report = Scheduler(toy.steps(), executor, config).run(toy.seed_jobs)
    assert report.stop_reason == "iterations" and report.iterations == 9
    failed = [n for n in store.list_nodes("run") if n.status == NodeStatus.failed]
    assert len(failed) == 3
    assert all("RuntimeError: the implementation of attempt" in n.reason for n in failed)
    grader_errors = [e for e in store.list_evaluations("run") if e.task_id == "task-1"]
    assert grader_errors and all(
        not e.resolved and "ValueError: grader crashed" in e.reason for e in grader_errors
    )
    assert report.failures == 3 + len(grader_errors)
    # Failed nodes are never parents.
    failed_ids = {n.id for n in failed}
    assert not any(n.parent_id in failed_ids for n in store.list_nodes("run"))
    _assert_consistent(store, report)


def test_a_wall_time_budget_stops_new_work_and_drains_what_runs(store):
    toy = ToyEvolution(store, eval_seconds=lambda job: 0.3)
    with LocalExecutor(2) as executor:
        config = SchedulerConfig(improve_workers=2, max_wall_seconds=1.5, poll_seconds=0.1)
        started = time.monotonic()
        report = Scheduler(toy.steps(), executor, config).run(toy.seed_jobs)
        elapsed = time.monotonic() - started
    assert report.stop_reason == "wall_time"
    assert elapsed < 30
    # Drained: nothing was running when run() returned; queued jobs are handed back.
    assert all(j in toy.pending for j in report.abandoned_evaluations)
    assert report.abandoned_improvements == []
    _assert_consistent(store, report)


def test_a_drain_limit_abandons_work_still_running(store):
    toy = ToyEvolution(store, eval_seconds=lambda job: 4.0)
    executor = LocalExecutor(2)
    config = SchedulerConfig(max_wall_seconds=0.5, drain_seconds=0.2, poll_seconds=0.1)
    started = time.monotonic()
    report = Scheduler(toy.steps(), executor, config).run(toy.seed_jobs)
    assert time.monotonic() - started < 3.5  # did not wait for the 4 s evaluations
    assert report.stop_reason == "wall_time"
    assert len(report.abandoned_evaluations) == 3  # 2 running + 1 queued seed task
    # Results of abandoned work are never recorded, even when it ends later.
    executor.shutdown(wait=True)
    _assert_consistent(store, report)
    assert store.list_evaluations("run", finished=True) == []


def test_stop_from_another_thread(store):
    toy = ToyEvolution(store, eval_seconds=lambda job: 0.1)
    with LocalExecutor(2) as executor:
        scheduler = Scheduler(toy.steps(), executor, SchedulerConfig(poll_seconds=0.05))
        threading.Timer(0.5, scheduler.stop).start()
        report = scheduler.run(toy.seed_jobs)
    assert report.stop_reason == "stopped"
    _assert_consistent(store, report)


def test_an_external_dollar_budget_and_an_evaluation_budget(store, tmp_path):
    toy = ToyEvolution(store, cost_per_eval=0.1, usd_budget=1.0)
    with LocalExecutor(2) as executor:
        report = Scheduler(toy.steps(), executor, SchedulerConfig(poll_seconds=0.05)).run(
            toy.seed_jobs
        )
    assert report.stop_reason.startswith("budget: $")
    _assert_consistent(store, report)

    other = SqlStore.open(tmp_path / "other.db")
    toy = ToyEvolution(other)
    with LocalExecutor(3) as executor:
        config = SchedulerConfig(improve_workers=2, max_evaluations=13)
        report = Scheduler(toy.steps(), executor, config).run(toy.seed_jobs)
    assert report.stop_reason == "evaluations"
    assert report.evaluations == 13
    assert len(other.list_evaluations("run", finished=True)) == 13
    _assert_consistent(other, report)
    other.close()


def test_nothing_left_to_do_ends_the_run(store):
    toy = ToyEvolution(store)
    steps = toy.steps()
    steps.propose = lambda can_expand, can_evaluate: None  # evaluate the seed only
    with LocalExecutor(2) as executor:
        report = Scheduler(steps, executor, SchedulerConfig()).run(toy.seed_jobs)
    assert report.stop_reason == "exhausted"
    assert report.iterations == 0 and report.evaluations in (3, 8)


def test_hgm_style_evaluation_proposals_stay_bounded(store):
    # propose hands back one more evaluation job each time instead of a child.
    toy = ToyEvolution(store)
    extra = iter(f"extra-{i}" for i in range(1000))
    proposals = Counter()

    def propose(can_expand: bool, can_evaluate: bool):
        proposals["calls"] += 1
        # Extra jobs asked for but not finished: bounded by the evaluation workers (2), never
        # by how often propose is called.
        finished = sum(
            1
            for kind, _, job in toy.timeline
            if kind == "evaluated" and job.task_id.startswith("extra-")
        )
        proposals["max_open"] = max(proposals["max_open"], proposals["extras"] - finished)
        if proposals["answered"] >= 40:
            return None
        if can_expand and proposals["answered"] % 4 == 3:
            expand = toy.propose(True, can_evaluate)
            if expand is not None:
                proposals["answered"] += 1
                proposals["expand"] += 1
                return expand
        if not can_evaluate:
            return None
        proposals["answered"] += 1
        proposals["extras"] += 1
        return toy._plan(1, [next(extra)])

    steps = toy.steps()
    steps.propose = propose
    with LocalExecutor(2) as executor:
        report = Scheduler(steps, executor, SchedulerConfig(improve_workers=1)).run(toy.seed_jobs)
    assert report.stop_reason == "exhausted"
    assert report.iterations == proposals["expand"] > 0
    assert 1 <= proposals["max_open"] <= 3
    extras = [e for e in store.list_evaluations("run") if e.task_id.startswith("extra-")]
    assert len(extras) == 40 - proposals["expand"] and all(e.finished for e in extras)
    _assert_consistent(store, report)


def test_a_broken_contract_is_reported():
    steps = SchedulerSteps(
        propose=lambda can_expand, can_evaluate: StepPlan.new(1),
        run_improvement=lambda parent: time.sleep(0.2),
        on_improvement_done=lambda parent, outcome: [],
        run_evaluation=lambda job: True,
        on_evaluation_done=lambda job, outcome: [],
    )
    with LocalExecutor(1) as executor, pytest.raises(SchedulerError, match="can_expand"):
        Scheduler(steps, executor, SchedulerConfig(improve_workers=1, eval_workers=1)).run(
            [EvaluationJob(1, "t"), EvaluationJob(1, "u")]
        )


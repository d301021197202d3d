"""The evolution loop: a pool of self-improvement workers and a pool of evaluation workers,
with no generation barrier (`Scheduler.run` is the loop).

A run plugs in a few callables (`SchedulerSteps`; run.py `EvolutionRun` for real runs). The
loop calls `propose` whenever a worker is free, runs `run_improvement` on its own thread
pool and `run_evaluation` on the `Executor`, and hands every outcome (value or `Failure`)
back to `on_improvement_done`/`on_evaluation_done` on the thread that called `run()`, so the
run records results from one thread. Follow-up evaluation jobs those hooks return start at once:
a child is evaluated as soon as it is ready, and a new self-improvement step starts as soon
as a worker is free. Where workers would idle otherwise:

- a new child's first evaluations go ahead of queued later stages, so that its first result
  (which a policy may wait for before it expands again) does not wait behind another node's
  big stage;
- a self-improvement worker that `propose` has no step for (a policy waiting for scores, or
  the iteration budget spent) takes waiting evaluations meanwhile (up to the executor's
  capacity); the next step starts once a lent worker's evaluation returns, so steps never
  wait longer than one evaluation for it.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agentforge.errors import AgentforgeError
from agentforge.evolve.loop.executor import Executor, LocalExecutor
from agentforge.evolve.step import StepPlan


@dataclass(frozen=True)
class EvaluationJob:
    """One task to run for one node (plain data: it may travel to another machine)."""

    node_id: int
    task_id: str
    split: str = "validation"
    attempt: int = 0


@dataclass(frozen=True)
class Failure:
    """A step that raised: the scheduler records it and carries on."""

    error: BaseException
    traceback: str

    @property
    def reason(self) -> str:
        """'ExceptionType: message', short enough for a node's reason."""
        return f"{type(self.error).__name__}: {self.error}"


# propose(can_expand, can_evaluate) -> a StepPlan (a child to make; only if can_expand),
# evaluation jobs (only if can_evaluate), or None for "nothing now".
NextWork = StepPlan | Sequence[EvaluationJob] | None


@dataclass
class SchedulerSteps:
    """The callables of one evolution loop."""

    propose: Callable[[bool, bool], NextWork]
    """(can_expand, can_evaluate) -> what to do next; called whenever a worker is free."""
    run_improvement: Callable[[StepPlan], Any]
    """Runs on a self-improvement worker: the step's plan -> what `on_improvement_done` needs."""
    on_improvement_done: Callable[[StepPlan, Any], Sequence[EvaluationJob]]
    """On the run() thread: (the step's plan, result or Failure) -> the child's first jobs."""
    run_evaluation: Callable[[EvaluationJob], Any]
    """Runs on the Executor: one job -> its outcome (must pickle for Ray)."""
    on_evaluation_done: Callable[[EvaluationJob, Any], Sequence[EvaluationJob]]
    """On the run() thread: (job, outcome or Failure) -> follow-up jobs (the next stage)."""
    budget_exceeded: Callable[[], str | None] = lambda: None
    """Polled often: a reason (dollars, tokens) once an external budget is spent."""
    draining: Callable[[], None] = lambda: None
    """Polled as often while work in flight finishes after a stop (live progress)."""


class SchedulerConfig(BaseModel):
    """Pool sizes and budgets of one scheduler run."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    improve_workers: int = Field(default=1, ge=1)
    """Self-improvement steps running at the same time."""
    eval_workers: int | None = Field(default=None, ge=1)
    """Evaluations in flight at the same time (default: the executor's capacity), plus the
    self-improvement workers that have no step to make (`propose` has none, or the iteration
    budget is spent) if the executor holds more jobs than this."""
    max_iterations: int | None = Field(default=None, ge=0)
    """Self-improvement steps to start in total; reaching it stops expanding: the children
    already made still finish their evaluations, and `propose` is still asked for evaluations
    (can_expand False) until it has none (hgm's EvaluateMore)."""
    max_evaluations: int | None = Field(default=None, ge=0)
    """Evaluations to start in total; reaching it stops all new work."""
    max_wall_seconds: float | None = Field(default=None, gt=0)
    """Wall-clock budget; reaching it stops all new work."""
    drain_seconds: float | None = Field(default=None, ge=0)
    """After a stop, how long to wait for work in flight (None: until it finishes);
    work still running then is reported abandoned and its result ignored."""
    poll_seconds: float = Field(default=0.5, gt=0)
    """How often budgets and stop requests are checked while waiting."""


class Clock(Protocol):
    """Time as the scheduler sees it: real time, or simulated (evolve/loop/simclock.py)."""

    def monotonic(self) -> float: ...
    def wait(self, futures: Sequence[Future], timeout: float | None) -> set[Future]: ...


class RealClock:
    """The wall clock; waiting blocks until a future finishes or the timeout passes."""

    def monotonic(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def wait(self, futures: Sequence[Future], timeout: float | None) -> set[Future]:
        """The futures done within `timeout` (at least one unless it passed)."""
        done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return done


class SchedulerError(AgentforgeError):
    """The loop's callables broke the scheduler's contract."""


@dataclass
class SchedulerReport:
    """How a scheduler run ended."""

    stop_reason: str
    """exhausted | iterations | evaluations | wall_time | stopped | budget: <why>"""
    iterations: int
    evaluations: int
    failures: int
    elapsed_s: float
    abandoned_evaluations: list[EvaluationJob] = field(default_factory=list)
    abandoned_improvements: list[int] = field(default_factory=list)
    """Parent ids of the steps still running when the drain ended."""


@dataclass
class InFlight:
    """What is running right now (for live progress)."""

    improving: list[int]
    """Parent ids of the steps running."""
    evaluating: list[EvaluationJob]
    queued: int


class Scheduler:
    """Runs `SchedulerSteps` on worker pools until the work or a budget runs out."""

    def __init__(self, steps: SchedulerSteps, executor: Executor, config: SchedulerConfig, *,
                 improve_executor: Executor | None = None, clock: Clock | None = None) -> None:
        self.steps = steps
        self.executor = executor
        self.config = config
        self.improve_executor = improve_executor
        """Where self-improvement steps run (None: a thread pool of improve_workers)."""
        self.clock = clock or RealClock()
        self.eval_workers = config.eval_workers or executor.capacity
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._improving: dict[Future, StepPlan] = {}
        self._evaluating: dict[Future, EvaluationJob] = {}
        # Waiting evaluations: a new child's first ones, then the rest (see the module's doc).
        self._first: deque[EvaluationJob] = deque()
        self._queue: deque[EvaluationJob] = deque()
        # Submission order: outcomes finishing together are handed over in it (reproducible).
        self._order: dict[Future, int] = {}
        self._sequence = itertools.count()
        self.iterations = 0
        self.evaluations = 0
        self.failures = 0

    def stop(self) -> None:
        """Ask the run to stop (safe from any thread or a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """A stop was asked for: only work in flight finishes now."""
        return self._stop.is_set()

    def in_flight(self) -> InFlight:
        """A consistent copy of what is running and queued."""
        with self._lock:
            return InFlight(
                improving=[plan.parent_id for plan in self._improving.values()],
                evaluating=list(self._evaluating.values()),
                queued=len(self._first) + len(self._queue),
            )

    def run(
        self,
        initial_jobs: Sequence[EvaluationJob] = (),
        *,
        iterations_done: int = 0,
        evaluations_done: int = 0,
        elapsed_before: float = 0.0,
    ) -> SchedulerReport:
        """Schedule until done or stopped; the *_done/elapsed arguments continue a resumed run."""
        self.iterations, self.evaluations = iterations_done, evaluations_done
        self._queue.extend(initial_jobs)
        started = self.clock.monotonic() - elapsed_before
        own_pool = self.improve_executor is None
        pool = self.improve_executor or LocalExecutor(self.config.improve_workers,
                                                      name="agentforge-improve")
        stop_reason: str | None = None
        try:
            while stop_reason is None:
                stop_reason = self._hard_stop_reason(started)
                if stop_reason is not None:
                    break
                self._fill(pool)
                if not self._improving and not self._evaluating:
                    stop_reason = "iterations" if self.expansion_over() else "exhausted"
                    break
                self._collect(self._wait_timeout(started))
            abandoned = self._drain()
        finally:
            if own_pool:
                pool.shutdown(wait=not (self._improving or self._evaluating))
        return SchedulerReport(
            stop_reason=stop_reason,
            iterations=self.iterations,
            evaluations=self.evaluations,
            failures=self.failures,
            elapsed_s=self.clock.monotonic() - started,
            abandoned_evaluations=abandoned[0],
            abandoned_improvements=abandoned[1],
        )

    # internals --------------------------------------------------------------------------

    def expansion_over(self) -> bool:
        """The iteration budget is spent: no more self-improvement steps in this run."""
        limit = self.config.max_iterations
        return limit is not None and self.iterations >= limit

    def _hard_stop_reason(self, started: float) -> str | None:
        if self._stop.is_set():
            return "stopped"
        limit = self.config.max_wall_seconds
        if limit is not None and self.clock.monotonic() - started >= limit:
            return "wall_time"
        limit = self.config.max_evaluations
        if limit is not None and self.evaluations >= limit:
            return "evaluations"
        reason = self.steps.budget_exceeded()
        return f"budget: {reason}" if reason else None

    def _fill(self, pool: Executor) -> None:
        """Start queued evaluations, then ask for work while workers are free; lend the
        self-improvement workers still free to the evaluations left waiting."""
        while True:
            # Planned follow-up jobs go first, so that the workers they leave free are offered
            # to `propose` in the same pass instead of idling until the next completion.
            self._submit_queued(self.eval_workers)
            # Past the iteration budget only evaluations are asked for.
            can_expand = not self.expansion_over() and self._improve_free() > 0
            can_evaluate = not self._waiting() and len(self._evaluating) < self._eval_slots()
            if not (can_expand or can_evaluate):
                break
            proposal = self.steps.propose(can_expand, can_evaluate)
            if proposal is None:
                break
            if isinstance(proposal, StepPlan):
                if not can_expand:
                    raise SchedulerError("propose returned a step while can_expand was False")
                future = pool.submit(self.steps.run_improvement, proposal)
                with self._lock:
                    self._improving[future] = proposal
                    self._order[future] = next(self._sequence)
                    self.iterations += 1
                continue
            if not can_evaluate:
                raise SchedulerError(
                    "propose returned evaluation jobs while can_evaluate was False"
                )
            jobs = list(proposal)
            with self._lock:
                self._queue.extend(jobs)
            if not jobs:
                break
            self._submit_queued(self.eval_workers)
        self._submit_queued(self._eval_slots())

    def _waiting(self) -> bool:
        return bool(self._first or self._queue)

    def _lent(self) -> int:
        """Self-improvement workers running an evaluation right now."""
        return max(0, len(self._evaluating) - self.eval_workers)

    def _improve_free(self) -> int:
        """Self-improvement workers neither making a child nor lent to an evaluation."""
        return self.config.improve_workers - len(self._improving) - self._lent()

    def _eval_slots(self) -> int:
        """Evaluations that may run now: the evaluation workers and the self-improvement
        workers not making a child (up to the executor's capacity: run.py gives it both
        pools' threads). `_fill` offers a free worker to `propose` before lending it."""
        idle = self.config.improve_workers - len(self._improving)
        return max(self.eval_workers, min(self.eval_workers + idle, self.executor.capacity))

    def _submit_queued(self, slots: int) -> None:
        limit = self.config.max_evaluations
        while self._waiting() and len(self._evaluating) < slots:
            if limit is not None and self.evaluations >= limit:
                return
            with self._lock:
                job = (self._first or self._queue).popleft()
                future = self.executor.submit(self.steps.run_evaluation, job)
                self._evaluating[future] = job
                self._order[future] = next(self._sequence)
                self.evaluations += 1

    def _wait_timeout(self, started: float) -> float:
        timeout = self.config.poll_seconds
        if self.config.max_wall_seconds is not None:
            left = self.config.max_wall_seconds - (self.clock.monotonic() - started)
            timeout = min(timeout, max(left, 0.0))
        return timeout

    def _collect(self, timeout: float | None) -> bool:
        """Wait up to `timeout` for work to finish and hand each outcome to its hook."""
        futures = [*self._improving, *self._evaluating]
        if not futures:
            return False
        done = self.clock.wait(futures, timeout)
        for future in sorted(done, key=lambda f: self._order.get(f, 0)):
            self._order.pop(future, None)
            outcome = _outcome(future)
            if isinstance(outcome, Failure):
                self.failures += 1
            if future in self._improving:
                with self._lock:
                    plan = self._improving.pop(future)
                follow_up = self.steps.on_improvement_done(plan, outcome)
                queue = self._first
            else:
                with self._lock:
                    job = self._evaluating.pop(future)
                follow_up = self.steps.on_evaluation_done(job, outcome)
                queue = self._queue
            with self._lock:
                queue.extend(follow_up or ())
        return bool(done)

    def _drain(self) -> tuple[list[EvaluationJob], list[int]]:
        """Let work in flight finish (within drain_seconds); return what was abandoned."""
        limit = self.config.drain_seconds
        deadline = None if limit is None else self.clock.monotonic() + limit
        while self._improving or self._evaluating:
            timeout = self.config.poll_seconds
            if deadline is not None:
                timeout = min(timeout, deadline - self.clock.monotonic())
                if timeout <= 0:
                    break
            self._collect(timeout)
            self.steps.draining()
        with self._lock:
            for future in self._evaluating:
                future.cancel()
            evaluations = [*self._evaluating.values(), *self._first, *self._queue]
            improvements = [plan.parent_id for plan in self._improving.values()]
            self._first.clear()
            self._queue.clear()
        return evaluations, improvements


def _outcome(future: Future) -> Any:
    try:
        return future.result()
    except BaseException as exc:  # a step's failure is data for the loop, never a crash here
        return Failure(exc, "".join(traceback.format_exception(exc)))

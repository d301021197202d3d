"""Throughput of the asynchronous scheduler against a generation-barrier scheduler (DGM's way),
and how busy each keeps its workers.

No model, no Docker: self-improvement steps and evaluations are sleeps with heavy-tailed
(lognormal) durations, the same durations for both schedulers, the same worker counts and
the same number of children (the iteration budget). Two workloads:

- independent: every child runs all its tasks at once as soon as it is made;
- staged: as a run's defaults do, a child's first task runs alone, then the rest of its first
  stage, then a second stage if it passes (drawn beforehand); a new step starts only once
  every child made so far has its first result (`selection.wait_for_unscored`; off with
  --no-wait-for-unscored).

The barrier scheduler works like DGM: a generation of children, each made and then evaluated
(stage by stage) on the shared evaluation pool as soon as it is ready, but the next
generation starts only when the slowest evaluation of the current one has finished.
Utilisation is the work done over (self-improvement + evaluation workers) x wall time.

--idle says where the asynchronous scheduler's idle worker time went, and the utilisation no
scheduler running at most --improve-workers steps at once could beat: child i is made by the
i-th step, so it cannot exist before i steps have run on that many workers, and its own
stages still take their slowest task each after that (the selector's waits not counted).
--simulated runs the asynchronous schedulers on simulated time (evolve/loop/simclock.py):
utilisation only, hundreds of workloads in seconds (three are few when a rare evaluation
takes a hundred times the median).

    python perf/scheduler_throughput.py                 # both workloads, 3 seeds (~1 min)
    python perf/scheduler_throughput.py --against main  # also main's scheduler, same run
    python perf/scheduler_throughput.py --idle          # where the idle time went
    python perf/scheduler_throughput.py --simulated --seeds 400
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import agentforge.evolve.loop.scheduler as current_scheduler
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.simclock import SimulatedExecutor, VirtualClock
from agentforge.evolve.step import StepPlan


class Workload:
    """Pre-drawn durations: child i takes improve[i] seconds to make, evaluate[i][t] per task t;
    a staged child runs tasks [0], [1, first_stage), then the rest if passes[i]."""

    def __init__(self, children: int, tasks: int, scale: float, seed: int, *, staged: bool,
                 first_stage: int = 3, pass_rate: float = 0.5, improve_sigma: float = 1.0,
                 eval_sigma: float = 1.5) -> None:
        rng = random.Random(seed)
        cap = 40 * scale  # keep one pathological draw from dominating the run time

        def lognormal(median: float, sigma: float) -> float:
            return min(cap, median * scale * math.exp(rng.gauss(0.0, sigma)))

        self.improve = [lognormal(1.0, improve_sigma) for _ in range(children)]
        self.evaluate = [
            [lognormal(0.3, eval_sigma) for _ in range(tasks)] for _ in range(children)
        ]
        self.passes = [rng.random() < pass_rate for _ in range(children)]
        self.children, self.tasks, self.staged = children, tasks, staged
        self.first_stage = min(first_stage, tasks)

    def stages(self, child: int) -> list[list[int]]:
        """The child's tasks in the order its stages run them."""
        if not self.staged:
            return [list(range(self.tasks))]
        stages = [[0], list(range(1, self.first_stage))]
        if self.passes[child]:
            stages.append(list(range(self.first_stage, self.tasks)))
        return [s for s in stages if s]

    def best_wall(self, improve_workers: int, workers: int) -> float:
        """A lower bound on any scheduler's wall time (steps at most `improve_workers` at once):
        all the work on every worker, or a child's step at its earliest and then its stages."""
        free = [0.0] * improve_workers
        chain = 0.0
        for child in range(self.children):  # the i-th step to start makes child i
            made = min(free) + self.improve[child]
            free[free.index(min(free))] = made
            stages = sum(max(self.evaluate[child][t] for t in s) for s in self.stages(child))
            chain = max(chain, made + stages)
        return max(chain, self.total_work() / workers)

    def total_work(self) -> float:
        """Seconds of work if it ran on one worker."""
        return sum(self.improve) + sum(
            self.evaluate[c][t] for c in range(self.children) for s in self.stages(c) for t in s
        )


IDLE_REASONS = (
    "evaluations queued",  # the scheduler's own idling
    "nothing to evaluate while every step worker is busy",
    "the selector waiting for a child's first result",
    "nothing ready after the last step (evaluations running, or holding their next stage)",
)


class Timeline:
    """What an asynchronous run did when (seconds from its start), to say where workers idled."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.busy: list[tuple[float, float]] = []  # a step or an evaluation running
        self.queued: list[tuple[float, float]] = []  # an evaluation ready, not yet started
        self.waits: list[tuple[float, float]] = []  # the selector waiting for a first result
        self.last_step = math.inf  # when the iteration budget's last step was proposed
        self.ready: dict[object, float] = {}  # evaluation job -> when it was handed over
        self.wait_since: float | None = None

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def idle(self, workers: int, wall: float) -> dict[str, float]:
        """Idle worker-seconds by what stood in the way of work (IDLE_REASONS)."""
        spans = [*self.busy, *self.queued, *self.waits]
        edges = sorted({0.0, wall, *(t for span in spans for t in span)} - {math.inf})
        idle = dict.fromkeys(IDLE_REASONS, 0.0)
        for start, end in zip(edges, edges[1:], strict=False):
            mid = (start + end) / 2

            def during(spans: list[tuple[float, float]], t: float = mid) -> int:
                return sum(1 for a, b in spans if a <= t < b)

            free = workers - during(self.busy)
            if free <= 0 or end > wall:
                continue
            if during(self.queued):
                reason = IDLE_REASONS[0]
            elif during(self.waits):
                reason = IDLE_REASONS[2]
            elif mid < self.last_step:
                reason = IDLE_REASONS[1]
            else:
                reason = IDLE_REASONS[3]
            idle[reason] += free * (end - start)
        return idle


class Children:
    """The workload as the loop's callables: the i-th step makes child i, a child's stages run
    one after another, and (staged, wait_for_unscored) no step starts while a child has no
    finished task. `timeline` (real threads) records the selector's waits and handovers."""

    def __init__(self, work: Workload, sched: types.ModuleType, wait_for_unscored: bool,
                 timeline: Timeline | None = None) -> None:
        self.work, self.sched, self.timeline = work, sched, timeline
        self.waits = work.staged and wait_for_unscored
        self.child_of: dict[str, int] = {}  # step id -> the child the step makes
        self.stage_of: dict[int, int] = {}  # child -> index of its stage running
        self.left: dict[int, int] = {}  # child -> tasks of that stage not finished
        self.unscored: set[int] = set()  # children made without a finished task

    def steps(self, improve: Callable, evaluate: Callable) -> Any:
        """The scheduler's callables, with these two doing the work."""
        return self.sched.SchedulerSteps(self.propose, improve, self.improved, evaluate,
                                         self.evaluated)

    def propose(self, can_expand: bool, can_evaluate: bool) -> StepPlan | None:
        if not can_expand or (self.waits and self.unscored):
            return None
        plan = StepPlan.new(0)
        self.child_of[plan.step_id] = len(self.child_of)
        if self.timeline and len(self.child_of) == self.work.children:
            self.timeline.last_step = self.timeline.now()
        return plan

    def improved(self, plan: StepPlan, outcome: object) -> list:
        more_steps = len(self.child_of) < self.work.children
        if self.timeline and self.waits and not self.unscored and more_steps:
            self.timeline.wait_since = self.timeline.now()
        child = self.child_of[plan.step_id]
        self.unscored.add(child)
        return self.start_stage(child, 0)

    def evaluated(self, job: Any, outcome: object) -> list:
        child = job.node_id
        self.unscored.discard(child)
        line = self.timeline
        if line and not self.unscored and line.wait_since is not None:
            line.waits.append((line.wait_since, line.now()))
            line.wait_since = None
        self.left[child] -= 1
        if self.left[child]:
            return []
        return self.start_stage(child, self.stage_of[child] + 1)

    def start_stage(self, child: int, index: int) -> list:
        stages = self.work.stages(child)
        if index >= len(stages):
            return []
        self.stage_of[child], self.left[child] = index, len(stages[index])
        jobs = [self.sched.EvaluationJob(child, str(t)) for t in stages[index]]
        if self.timeline:
            self.timeline.ready.update(dict.fromkeys(jobs, self.timeline.now()))
        return jobs


def run_async(work: Workload, improve_workers: int, eval_workers: int,
              sched: types.ModuleType = current_scheduler, wait_for_unscored: bool = True,
              timeline: Timeline | None = None) -> float:
    """Wall seconds for the asynchronous scheduler (`sched`: its module) to make and evaluate
    every child; `timeline` records what ran when."""
    line = timeline or Timeline()
    children = Children(work, sched, wait_for_unscored, line)

    def improve(plan: StepPlan) -> None:
        started = line.now()
        time.sleep(work.improve[children.child_of[plan.step_id]])
        line.busy.append((started, line.now()))

    def evaluate(job: Any) -> bool:
        started = line.now()
        line.queued.append((line.ready.pop(job), started))
        time.sleep(work.evaluate[job.node_id][int(job.task_id)])
        line.busy.append((started, line.now()))
        return True

    # The evaluation executor holds both pools' threads, as a run's does (evolve/loop/run.py).
    with LocalExecutor(improve_workers + eval_workers) as executor:
        config = sched.SchedulerConfig(improve_workers=improve_workers, eval_workers=eval_workers,
                                       max_iterations=work.children, poll_seconds=0.05)
        line.started = started = time.monotonic()
        report = sched.Scheduler(children.steps(improve, evaluate), executor, config).run()
        elapsed = time.monotonic() - started
    _check_complete(work, report)
    return elapsed


def run_simulated(work: Workload, improve_workers: int, eval_workers: int,
                  sched: types.ModuleType = current_scheduler,
                  wait_for_unscored: bool = True) -> float:
    """`run_async` on simulated time (evolve/loop/simclock.py): the same scheduler, callables
    and durations, fast enough for hundreds of workloads."""
    clock = VirtualClock()
    children = Children(work, sched, wait_for_unscored)
    evaluations = SimulatedExecutor(
        clock, lambda job: work.evaluate[job.node_id][int(job.task_id)],
        improve_workers + eval_workers)
    steps = SimulatedExecutor(clock, lambda plan: work.improve[children.child_of[plan.step_id]])
    config = sched.SchedulerConfig(improve_workers=improve_workers, eval_workers=eval_workers,
                                   max_iterations=work.children)
    report = sched.Scheduler(children.steps(lambda plan: None, lambda job: True), evaluations,
                             config, improve_executor=steps, clock=clock).run()
    _check_complete(work, report)
    return report.elapsed_s


def _check_complete(work: Workload, report: Any) -> None:
    expected = sum(len(s) for c in range(work.children) for s in work.stages(c))
    assert report.evaluations == expected and report.iterations == work.children, report


def run_barrier(work: Workload, improve_workers: int, eval_workers: int) -> float:
    """Wall seconds for generations of `improve_workers` children with a barrier after each."""
    with LocalExecutor(improve_workers) as improvers, LocalExecutor(eval_workers) as evaluators:

        def make_and_evaluate(child: int) -> None:
            time.sleep(work.improve[child])
            for stage in work.stages(child):
                wait([evaluators.submit(time.sleep, work.evaluate[child][t]) for t in stage])

        started = time.monotonic()
        for first in range(0, work.children, improve_workers):
            generation = range(first, min(first + improve_workers, work.children))
            wait([improvers.submit(make_and_evaluate, c) for c in generation])  # the barrier
        return time.monotonic() - started


def scheduler_at(revision: str) -> types.ModuleType:
    """evolve/loop/scheduler.py as it is at a git revision of this checkout, as a module."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "-C", str(root), "show", f"{revision}:agentforge/evolve/loop/scheduler.py"],
        capture_output=True, text=True)
    if source.returncode:
        sys.exit(f"--against {revision}: {source.stderr.strip()}")
    module = types.ModuleType(f"scheduler_at_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source.stdout, f"{revision}:scheduler.py", "exec"), module.__dict__)
    return module


def main() -> None:
    """Run the schedulers on the same workloads; print wall time, ratio and utilisation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=6, help="evaluations per child (at most)")
    parser.add_argument("--improve-workers", type=int, default=4)
    parser.add_argument("--eval-workers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=0.06, help="seconds per unit of duration")
    parser.add_argument("--seeds", type=int, default=3, help="workloads to run (seeds 0..N-1)")
    parser.add_argument("--workloads", default="independent,staged")
    parser.add_argument("--improve-sigma", type=float, default=1.0, help="lognormal sigma")
    parser.add_argument("--eval-sigma", type=float, default=1.5, help="lognormal sigma")
    parser.add_argument("--no-wait-for-unscored", dest="wait", action="store_false",
                        help="staged: start steps while a child waits for its first result")
    parser.add_argument("--against", metavar="REV",
                        help="also run the scheduler of this git revision (e.g. main)")
    parser.add_argument("--idle", action="store_true",
                        help="where the asynchronous schedulers' workers idled, and the best "
                             "utilisation any scheduler could reach")
    parser.add_argument("--simulated", action="store_true",
                        help="the asynchronous schedulers on simulated time: utilisation "
                             "only, fast enough for --seeds 400")
    args = parser.parse_args()

    schedulers = {"asynchronous": current_scheduler}
    if args.against:
        schedulers = {f"async@{args.against}": scheduler_at(args.against), **schedulers}
    workers = args.improve_workers + args.eval_workers
    print(
        f"{args.seeds} workloads of {args.children} children x up to {args.tasks} evaluations; "
        f"{args.improve_workers} self-improvement + {args.eval_workers} evaluation workers; "
        f"lognormal durations (sigma {args.improve_sigma} / {args.eval_sigma})"
        + ("; simulated time" if args.simulated else "")
    )
    for name in args.workloads.split(","):
        print(f"{name}:")
        totals = dict.fromkeys(
            [*([] if args.simulated else ["generation barrier"]), *schedulers], 0.0)
        idle = {label: dict.fromkeys(IDLE_REASONS, 0.0) for label in schedulers}
        work_total = best_total = 0.0
        for seed in range(args.seeds):
            work = Workload(args.children, args.tasks, args.scale, seed,
                            staged=name == "staged", improve_sigma=args.improve_sigma,
                            eval_sigma=args.eval_sigma)
            work_total += work.total_work()
            best_total += work.best_wall(args.improve_workers, workers)
            if args.simulated:
                for label, module in schedulers.items():
                    totals[label] += run_simulated(work, args.improve_workers,
                                                   args.eval_workers, module, args.wait)
                continue
            seconds = {"generation barrier": run_barrier(work, args.improve_workers,
                                                         args.eval_workers)}
            for label, module in schedulers.items():
                timeline = Timeline()
                seconds[label] = run_async(work, args.improve_workers, args.eval_workers, module,
                                           args.wait, timeline)
                for reason, idle_s in timeline.idle(workers, seconds[label]).items():
                    idle[label][reason] += idle_s
            line = ", ".join(
                f"{label} {s:5.2f} s ({work.total_work() / (workers * s):.0%})"
                for label, s in seconds.items())
            print(f"  seed {seed}: work {work.total_work():5.1f} s; {line}")
            for label, s in seconds.items():
                totals[label] += s
        barrier = totals.get("generation barrier")
        for label, s in totals.items():
            ratio = f"{barrier / s:.2f}x the barrier, " if barrier else ""
            verdict = ""
            if label == "asynchronous" and barrier:
                ok = barrier / s >= 2.0 and work_total / (workers * s) >= 0.75
                verdict = "  (target >= 2x and >= 75%) " + ("OK" if ok else "BELOW TARGET")
            print(f"  {label:>20}: {ratio}utilisation {work_total / (workers * s):4.0%}{verdict}")
        if args.idle:
            print(f"  no scheduler beats {work_total / (workers * best_total):.0%} "
                  f"(at most {args.improve_workers} steps at once)")
            for label, reasons in idle.items() if not args.simulated else ():
                spent = "; ".join(f"{reason} {s:.1f}" for reason, s in reasons.items())
                print(f"  {label} idle worker-seconds: {spent}")


if __name__ == "__main__":
    main()

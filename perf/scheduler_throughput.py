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

    python perf/scheduler_throughput.py                 # both workloads, 3 seeds (~1 min)
    python perf/scheduler_throughput.py --against main  # also main's scheduler, same run
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import wait
from pathlib import Path

import agentforge.evolve.loop.scheduler as current_scheduler
from agentforge.evolve.loop.executor import LocalExecutor
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

    def total_work(self) -> float:
        """Seconds of work if it ran on one worker."""
        return sum(self.improve) + sum(
            self.evaluate[c][t] for c in range(self.children) for s in self.stages(c) for t in s
        )


def run_async(work: Workload, improve_workers: int, eval_workers: int,
              sched: types.ModuleType = current_scheduler, wait_for_unscored: bool = True) -> float:
    """Wall seconds for the asynchronous scheduler (`sched`: its module) to make and evaluate
    every child."""
    made = iter(range(work.children))
    lock = threading.Lock()
    stage_of: dict[int, int] = {}  # child -> index of its stage running
    left: dict[int, int] = {}  # child -> tasks of that stage not finished
    unscored: set[int] = set()  # children made without a finished task

    def start_stage(child: int, index: int) -> list:
        stages = work.stages(child)
        if index >= len(stages):
            return []
        stage_of[child], left[child] = index, len(stages[index])
        return [sched.EvaluationJob(child, str(t)) for t in stages[index]]

    def propose(can_expand: bool, can_evaluate: bool):
        if not can_expand or (work.staged and wait_for_unscored and unscored):
            return None
        return StepPlan.new(0)

    def improve(plan: StepPlan) -> int:
        with lock:
            child = next(made)
        time.sleep(work.improve[child])
        return child

    def improved(plan: StepPlan, child: int) -> list:
        unscored.add(child)
        return start_stage(child, 0)

    def evaluate(job) -> bool:
        time.sleep(work.evaluate[job.node_id][int(job.task_id)])
        return True

    def evaluated(job, outcome) -> list:
        child = job.node_id
        unscored.discard(child)
        left[child] -= 1
        return start_stage(child, stage_of[child] + 1) if left[child] == 0 else []

    steps = sched.SchedulerSteps(propose, improve, improved, evaluate, evaluated)
    # The evaluation executor holds both pools' threads, as a run's does (evolve/loop/run.py).
    with LocalExecutor(improve_workers + eval_workers) as executor:
        config = sched.SchedulerConfig(improve_workers=improve_workers, eval_workers=eval_workers,
                                       max_iterations=work.children, poll_seconds=0.05)
        started = time.monotonic()
        report = sched.Scheduler(steps, executor, config).run()
        elapsed = time.monotonic() - started
    expected = sum(len(s) for c in range(work.children) for s in work.stages(c))
    assert report.evaluations == expected and report.iterations == work.children, report
    return elapsed


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
    args = parser.parse_args()

    schedulers = {"asynchronous": current_scheduler}
    if args.against:
        schedulers = {f"async@{args.against}": scheduler_at(args.against), **schedulers}
    workers = args.improve_workers + args.eval_workers
    print(
        f"{args.seeds} workloads of {args.children} children x up to {args.tasks} evaluations; "
        f"{args.improve_workers} self-improvement + {args.eval_workers} evaluation workers; "
        f"lognormal durations (sigma {args.improve_sigma} / {args.eval_sigma})"
    )
    for name in args.workloads.split(","):
        print(f"{name}:")
        totals = dict.fromkeys(["generation barrier", *schedulers], 0.0)
        work_total = 0.0
        for seed in range(args.seeds):
            work = Workload(args.children, args.tasks, args.scale, seed,
                            staged=name == "staged", improve_sigma=args.improve_sigma,
                            eval_sigma=args.eval_sigma)
            seconds = {"generation barrier": run_barrier(work, args.improve_workers,
                                                         args.eval_workers)}
            for label, module in schedulers.items():
                seconds[label] = run_async(work, args.improve_workers, args.eval_workers, module,
                                           args.wait)
            work_total += work.total_work()
            line = ", ".join(
                f"{label} {s:5.2f} s ({work.total_work() / (workers * s):.0%})"
                for label, s in seconds.items())
            print(f"  seed {seed}: work {work.total_work():5.1f} s; {line}")
            for label, s in seconds.items():
                totals[label] += s
        barrier = totals["generation barrier"]
        for label, s in totals.items():
            ratio = barrier / s
            verdict = ""
            if label == "asynchronous":
                ok = ratio >= 2.0 and work_total / (workers * s) >= 0.75
                verdict = "  (target >= 2x and >= 75%) " + ("OK" if ok else "BELOW TARGET")
            print(f"  {label:>20}: {ratio:.2f}x the barrier, utilisation "
                  f"{work_total / (workers * s):4.0%}{verdict}")


if __name__ == "__main__":
    main()

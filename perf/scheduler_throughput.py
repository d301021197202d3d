"""Throughput of the asynchronous scheduler against a generation-barrier scheduler (DGM's way).

No model, no Docker: self-improvement steps and evaluations are sleeps with heavy-tailed
(lognormal) durations, the same durations for both schedulers, the same worker counts.
The barrier scheduler works like DGM: a generation of children, each made and then evaluated
on the shared evaluation pool as soon as it is ready, but the next generation starts only
when the slowest evaluation of the current one has finished.

    python perf/scheduler_throughput.py            # prints both figures and the ratio (~30 s)
"""

from __future__ import annotations

import argparse
import math
import random
import threading
import time
from concurrent.futures import wait

from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.scheduler import (
    EvaluationJob,
    Scheduler,
    SchedulerConfig,
    SchedulerSteps,
)
from agentforge.evolve.step import StepPlan


class Workload:
    """Pre-drawn durations: child i takes improve[i] seconds to make, eval[i][t] per task t."""

    def __init__(
        self,
        children: int,
        tasks: int,
        scale: float,
        seed: int,
        improve_sigma: float = 1.0,
        eval_sigma: float = 1.5,
    ) -> None:
        rng = random.Random(seed)
        cap = 40 * scale  # keep one pathological draw from dominating the run time

        def lognormal(median: float, sigma: float) -> float:
            return min(cap, median * scale * math.exp(rng.gauss(0.0, sigma)))

        self.improve = [lognormal(1.0, improve_sigma) for _ in range(children)]
        self.evaluate = [
            [lognormal(0.3, eval_sigma) for _ in range(tasks)] for _ in range(children)
        ]
        self.children = children
        self.tasks = tasks

    def total_work(self) -> float:
        """Seconds of work if it ran on one worker."""
        return sum(self.improve) + sum(map(sum, self.evaluate))


def run_async(work: Workload, improve_workers: int, eval_workers: int) -> float:
    """Wall seconds for the asynchronous scheduler to make and evaluate every child."""
    made = iter(range(work.children))
    lock = threading.Lock()
    proposed = 0

    def propose(can_expand: bool, can_evaluate: bool):
        nonlocal proposed
        if not can_expand or proposed >= work.children:
            return None
        proposed += 1
        return StepPlan.new(0)

    def improve(plan: StepPlan) -> int:
        with lock:
            child = next(made)
        time.sleep(work.improve[child])
        return child

    def improved(plan: StepPlan, child: int) -> list[EvaluationJob]:
        return [EvaluationJob(child, str(t)) for t in range(work.tasks)]

    def evaluate(job: EvaluationJob) -> bool:
        time.sleep(work.evaluate[job.node_id][int(job.task_id)])
        return True

    steps = SchedulerSteps(propose, improve, improved, evaluate, lambda job, outcome: [])
    with LocalExecutor(eval_workers) as executor:
        config = SchedulerConfig(improve_workers=improve_workers, poll_seconds=0.05)
        started = time.monotonic()
        report = Scheduler(steps, executor, config).run()
        elapsed = time.monotonic() - started
    assert report.evaluations == work.children * work.tasks, report
    return elapsed


def run_barrier(work: Workload, improve_workers: int, eval_workers: int) -> float:
    """Wall seconds for generations of `improve_workers` children with a barrier after each."""
    with LocalExecutor(improve_workers) as improvers, LocalExecutor(eval_workers) as evaluators:

        def make_and_evaluate(child: int) -> None:
            time.sleep(work.improve[child])
            wait([evaluators.submit(time.sleep, d) for d in work.evaluate[child]])

        started = time.monotonic()
        for first in range(0, work.children, improve_workers):
            generation = range(first, min(first + improve_workers, work.children))
            wait([improvers.submit(make_and_evaluate, c) for c in generation])  # the barrier
        return time.monotonic() - started


def main() -> None:
    """Run both schedulers on the same workloads and print throughput and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=6, help="evaluations per child")
    parser.add_argument("--improve-workers", type=int, default=4)
    parser.add_argument("--eval-workers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=0.06, help="seconds per unit of duration")
    parser.add_argument("--seeds", type=int, default=3, help="workloads to run (seeds 0..N-1)")
    parser.add_argument("--improve-sigma", type=float, default=1.0, help="lognormal sigma")
    parser.add_argument("--eval-sigma", type=float, default=1.5, help="lognormal sigma")
    args = parser.parse_args()

    print(
        f"{args.seeds} workloads of {args.children} children x {args.tasks} evaluations; "
        f"{args.improve_workers} self-improvement + {args.eval_workers} evaluation workers; "
        f"lognormal durations (sigma {args.improve_sigma} / {args.eval_sigma})"
    )
    totals = {"generation barrier": 0.0, "asynchronous": 0.0}
    for seed in range(args.seeds):
        work = Workload(
            args.children, args.tasks, args.scale, seed, args.improve_sigma, args.eval_sigma
        )
        barrier = run_barrier(work, args.improve_workers, args.eval_workers)
        asynchronous = run_async(work, args.improve_workers, args.eval_workers)
        totals["generation barrier"] += barrier
        totals["asynchronous"] += asynchronous
        print(
            f"  seed {seed}: work {work.total_work():5.1f} s, barrier {barrier:5.2f} s, "
            f"asynchronous {asynchronous:5.2f} s, ratio {barrier / asynchronous:.2f}x"
        )
    evaluations = args.seeds * args.children * args.tasks
    for name, seconds in totals.items():
        print(
            f"{name:>20}: {evaluations / seconds:7.2f} evaluations/s  "
            f"{args.seeds * args.children / seconds:6.2f} children/s"
        )
    ratio = totals["generation barrier"] / totals["asynchronous"]
    verdict = "OK" if ratio >= 1.5 else "BELOW TARGET"
    print(f"{'throughput ratio':>20}: {ratio:.2f}x  (target >= 1.5x) {verdict}")


if __name__ == "__main__":
    main()

"""Parallel grading efficiency: grade N bundled tasks one at a time, then with W workers.

    python perf/grading_parallel.py [--tasks N] [--workers W] [--subset NAME]

Prints each task's single-run time, their sum, the wall time with W workers, and
parallel efficiency = (sum of single-task times / W) / wall time with W workers.
Target: >= 0.8 at W = 2 on a 2-core machine. Both runs happen in this process, one after
the other, so they share the machine's load. Reference patches are graded, so every
task runs its full test command.
"""

from __future__ import annotations

import argparse
import time

from agentforge.bench import get_benchmark
from agentforge.bench.run import grade_predictions
from agentforge.bench.task import Prediction


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8, help="how many bundled tasks (N)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (W)")
    parser.add_argument("--subset", default=None, help="take the tasks from this subset")
    args = parser.parse_args()

    bench = get_benchmark("local")
    everything = bench.tasks(args.subset)
    # Spread the pick over the suite so Go, Python exercises and SWE-style tasks all count.
    tasks = everything[:: max(1, len(everything) // args.tasks)][: args.tasks]
    preds = [Prediction(instance_id=t.instance_id, model_patch=t.reference_patch or "")
             for t in tasks]
    grade_predictions(bench, preds[:1], workers=1, show=False)  # warm the image cache

    single = {}
    for pred in preds:
        start = time.monotonic()
        result = grade_predictions(bench, [pred], workers=1, show=False)[pred.instance_id]
        single[pred.instance_id] = time.monotonic() - start
        print(f"  {pred.instance_id:36} {single[pred.instance_id]:6.1f}s  {result.outcome.value}")
    total = sum(single.values())

    start = time.monotonic()
    results = grade_predictions(bench, preds, workers=args.workers, show=False)
    wall = time.monotonic() - start
    resolved = sum(r.resolved for r in results.values())
    ideal = total / args.workers
    print(f"tasks: {len(preds)} (resolved {resolved}/{len(preds)} in the parallel run)")
    print(f"sum of single-task times:   {total:7.1f}s")
    print(f"ideal with {args.workers} workers (sum/W):  {ideal:7.1f}s")
    print(f"wall time with {args.workers} workers:     {wall:7.1f}s")
    print(f"parallel efficiency:        {ideal / wall:7.2f}  (target >= 0.80 at W=2)")


if __name__ == "__main__":
    main()

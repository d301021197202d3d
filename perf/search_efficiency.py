"""Search efficiency of the selectors: the same synthetic landscapes, budget and final-pick rule.

Every selector runs its own protocol (dgm: DGM's staging, 10 tasks then all 60 if >= 40%;
hgm: one initial task per child, then its expand-or-evaluate rule) through the real
Scheduler, SearchPolicy and selector code on simulated time (perf/search_landscape.py
describes the world). The same seeds serve every selector, so differences are paired.

Figures, against cost (worker slots x time, idle slots included):
- best: true score of the best valid node created;
- pick: true score of the final pick by the common rule (top-k by a cautious validation
  score, each re-scored on every held-out task; the best held-out score wins);
- cost to first reach a true score X (--target; the best node created; censored at the
  budget, with how many runs reached it);
- the share of the budget at which a selector's pick first reaches the baseline's final
  pick of the same seed (resolution: the checkpoints);
- paired differences against the baseline with bootstrap 95% intervals.

    python perf/search_efficiency.py                 # 200 seeds, strong and weak link (~4 min)
    python perf/search_efficiency.py --seeds 50 --selectors dgm,hgm,greedy --own-pick
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bootstrap import bootstrap  # noqa: E402
from search_landscape import SimulatedRun, World  # noqa: E402

LINKS = {"strong": 1.0, "weak": 0.0}


def one_run(task: tuple[str, str, int, World, float, list[float], bool, float]) -> dict:
    """Run one selector on one seed; its snapshots as plain numbers."""
    landscape, name, seed, world, budget, checkpoints, own, target = task
    run = SimulatedRun(name, seed, world, budget, checkpoints, own_pick=own)
    snapshots = run.run()
    # Cost at which the best node created first reached the target (censored: None).
    reach = next((cost for cost, truth in run.best_curve if truth >= target), None)
    return {"landscape": landscape, "selector": name, "seed": seed, "to_target": reach,
            "best": [s.best_truth for s in snapshots], "pick": [s.pick_truth for s in snapshots],
            "own": [s.own_truth for s in snapshots], "nodes": snapshots[-1].nodes,
            "evaluations": snapshots[-1].evaluations}


def reach_fraction(pick: list[float], target: float, checkpoints: list[float]) -> float | None:
    """The first checkpoint (as a share of the budget) where `pick` reaches `target`."""
    for value, cost in zip(pick, checkpoints, strict=True):
        if value >= target - 1e-12:
            return cost / checkpoints[-1]
    return None


def report(landscape: str, runs: dict[tuple[str, int], dict], names: list[str], baseline: str,
           checkpoints: list[float], seeds: list[int], own: bool, target: float) -> None:
    """Print one landscape's table."""
    rng = random.Random(0)
    print(f"\n== {landscape} link ==")
    shown = sorted({len(checkpoints) // 4 - 1, len(checkpoints) // 2 - 1, len(checkpoints) - 1})
    header = "".join(f"  {'best@' + format(checkpoints[i], 'g'):>11} {'pick':>6}" for i in shown)
    print(f"{'selector':<11}{header}  {'nodes':>6} {'evals':>6}  {'cost to ' + str(target):>14}")
    for name in names:
        rows = [runs[name, s] for s in seeds]
        cells = "".join(f"  {statistics.fmean(r['best'][i] for r in rows):>11.3f}"
                        f" {statistics.fmean(r['pick'][i] for r in rows):>6.3f}" for i in shown)
        extra = f"  own pick {statistics.fmean(r['own'][-1] for r in rows):.3f}" if own else ""
        # Censored at the budget: a run that never reached the target counts the budget.
        to_target = [r["to_target"] if r["to_target"] is not None else checkpoints[-1]
                     for r in rows]
        hit = sum(r["to_target"] is not None for r in rows)
        print(f"{name:<11}{cells}  {statistics.fmean(r['nodes'] for r in rows):>6.1f}"
              f" {statistics.fmean(r['evaluations'] for r in rows):>6.0f}"
              f"  {statistics.fmean(to_target):>6.0f} ({hit:>3}/{len(rows)}){extra}")
    half = len(checkpoints) // 2 - 1
    print(f"paired against {baseline} (mean [bootstrap 95% interval]); "
          f"reach = share of the budget at which the pick first reaches {baseline}'s final pick")
    for name in names:
        if name == baseline:
            continue
        pairs = [(runs[name, s], runs[baseline, s]) for s in seeds]
        final = bootstrap([m["pick"][-1] - b["pick"][-1] for m, b in pairs], rng)
        at_half = bootstrap([m["pick"][half] - b["pick"][-1] for m, b in pairs], rng)
        best = bootstrap([m["best"][-1] - b["best"][-1] for m, b in pairs], rng)
        reach = [reach_fraction(m["pick"], b["pick"][-1], checkpoints) for m, b in pairs]
        reached = [r for r in reach if r is not None]
        censored = sorted(r if r is not None else float("inf") for r in reach)
        median = censored[len(censored) // 2]
        print(f"  {name:<9} pick@B - {baseline}@B {_fmt(final)}   "
              f"pick@B/2 - {baseline}@B {_fmt(at_half)}   best@B {_fmt(best)}")
        verdict = ("above" if at_half[1] > 0 else "below" if at_half[2] < 0
                   else "not distinguishable from")
        print(f"  {'':<9} at half the cost its pick is {verdict} {baseline}'s final pick")
        print(f"  {'':<9} reach: median {'>1' if median == float('inf') else format(median, '.2f')}"
              f" of the budget, reached in {len(reached)}/{len(reach)} seeds, "
              f"<= 0.5 in {sum(r <= 0.5 for r in reached)}/{len(reach)}")


def _is_link(text: str) -> bool:
    try:
        return 0.0 <= float(text) <= 1.0
    except ValueError:
        return False


def _fmt(interval: tuple[float, ...]) -> str:
    mean, low, high = interval
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def main() -> None:
    """Run every selector on every seed and landscape; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selectors", default="dgm,hgm")
    parser.add_argument("--baseline", default="dgm")
    parser.add_argument("--landscapes", default="strong,weak",
                        help="strong (link 1), weak (link 0) or a link in [0, 1], e.g. 0.5")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--budget", type=float, default=2000.0, help="cost units per run")
    parser.add_argument("--checkpoints", type=int, default=8, help="snapshots over the budget")
    parser.add_argument("--improve-cost", type=float, default=World.improve_cost)
    parser.add_argument("--fail-rate", type=float, default=World.fail_rate)
    parser.add_argument("--improve-workers", type=int, default=World.improve_workers)
    parser.add_argument("--eval-workers", type=int, default=World.eval_workers)
    parser.add_argument("--target", type=float, default=0.7,
                        help="true score whose cost to reach is reported (best node created)")
    parser.add_argument("--own-pick", action="store_true",
                        help="also report each selector's own best_node (slower)")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    args = parser.parse_args()
    names = args.selectors.split(",")
    if args.baseline not in names:
        parser.error(f"--baseline {args.baseline} must be one of --selectors {args.selectors}")
    checkpoints = [args.budget * (i + 1) / args.checkpoints for i in range(args.checkpoints)]
    base = World(improve_cost=args.improve_cost, fail_rate=args.fail_rate,
                 improve_workers=args.improve_workers, eval_workers=args.eval_workers)
    landscapes = args.landscapes.split(",")
    for landscape in landscapes:
        if landscape not in LINKS and not _is_link(landscape):
            parser.error(f"--landscapes: {landscape!r} is not strong, weak or a link in [0, 1]")
    print(f"{args.seeds} seeds x {landscapes} x {names}; budget {args.budget:g} cost units "
          f"(evaluation 1, self-modification {base.improve_cost:g}, failing {base.fail_rate:.0%}"
          f"; {base.improve_workers} improve + {base.eval_workers} evaluation workers, idle "
          f"time charged); {base.validation_tasks} validation and {base.held_out_tasks} held-out"
          f" tasks; pick = common rule (top {base.top_k}, held-out re-scoring)")
    links = {name: LINKS[name] if name in LINKS else float(name) for name in landscapes}
    tasks = [(landscape, name, seed, replace(base, link=links[landscape]), args.budget,
              checkpoints, args.own_pick, args.target)
             for landscape in landscapes for name in names for seed in range(args.seeds)]
    started = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one_run, tasks, chunksize=8))
    for landscape in landscapes:
        runs = {(r["selector"], r["seed"]): r for r in results if r["landscape"] == landscape}
        report(landscape, runs, names, args.baseline, checkpoints, list(range(args.seeds)),
               args.own_pick, args.target)
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""Search efficiency of the parent selectors on a synthetic landscape (no model, pure Python).

A node's true quality q is hidden; the seed has q0, a child has its parent's q plus Gaussian
noise (clipped to [0, 1]); an evaluation is a Bernoulli(q) draw. Expanding selectors (dgm,
greedy, best-of-n) evaluate each new child on a fixed number of tasks; hgm follows its own
expand-or-evaluate rule, one task at a time. After E evaluations we read the true quality of
(a) the node the selector would answer with (its best_node) and (b) the best node created.

    python perf/search_efficiency.py      # mean and 95% interval of the mean over 50 seeds
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from dataclasses import dataclass, field

from agentforge.evolve.selection import EvaluateMore, Expand, NodeView, make_selector


@dataclass
class Landscape:
    """Hidden qualities and the evaluation record of one synthetic run."""

    rng: random.Random
    drift: float
    noise: float
    tasks_per_node: int
    quality: list[float] = field(default_factory=list)
    parent: list[int | None] = field(default_factory=list)
    successes: list[int] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    evaluations: int = 0

    def add(self, parent: int | None, q0: float = 0.0) -> int:
        """A new node: the seed at q0, or a mutated child of `parent`."""
        change = 0.0 if parent is None else self.rng.gauss(self.drift, self.noise)
        q = q0 if parent is None else self.quality[parent] + change
        self.quality.append(min(1.0, max(0.0, q)))
        self.parent.append(parent)
        self.successes.append(0)
        self.failures.append(0)
        return len(self.quality) - 1

    def evaluate(self, node: int, times: int = 1) -> None:
        """Run `times` Bernoulli evaluations of a node."""
        for _ in range(times):
            if self.rng.random() < self.quality[node]:
                self.successes[node] += 1
            else:
                self.failures[node] += 1
            self.evaluations += 1

    def views(self) -> list[NodeView]:
        """The archive as selection sees it (no true qualities)."""
        return [
            NodeView(
                i,
                self.parent[i],
                self.successes[i],
                self.failures[i],
                tasks_left=self.tasks_per_node - self.successes[i] - self.failures[i],
            )
            for i in range(len(self.quality))
        ]


def simulate(name: str, seed: int, checkpoints: list[int], args) -> dict[int, tuple[float, float]]:
    """Run one selector on one landscape; at each checkpoint E: (pick quality, best quality)."""
    land = Landscape(random.Random(seed), args.drift, args.noise, args.tasks)
    selector = make_selector(name)
    rng = random.Random(10_000 + seed)
    seed_node = land.add(None, args.q0)
    per_child = args.evals_per_child
    land.evaluate(seed_node, 1 if name == "hgm" else per_child)
    results: dict[int, tuple[float, float]] = {}
    pending = sorted(checkpoints)
    while pending:
        action = selector.next_action(land.views(), rng)
        if isinstance(action, EvaluateMore):
            land.evaluate(action.node_id)
        elif isinstance(action, Expand):
            child = land.add(action.parent_id)
            land.evaluate(child, 1 if name == "hgm" else per_child)
        while pending and land.evaluations >= pending[0]:
            pick = selector.best_node(land.views())
            results[pending.pop(0)] = (land.quality[pick], max(land.quality))
    return results


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and the 95% interval of the mean (normal approximation)."""
    mean = statistics.fmean(values)
    half = 1.96 * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selectors", default="dgm,hgm,greedy,best-of-n")
    parser.add_argument("--budgets", default="100,300,1000", help="evaluation counts E")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--q0", type=float, default=0.2, help="true quality of the seed")
    parser.add_argument("--drift", type=float, default=-0.02, help="mean change parent->child")
    parser.add_argument("--noise", type=float, default=0.08, help="sd of that change")
    parser.add_argument("--tasks", type=int, default=50, help="validation tasks per node")
    parser.add_argument("--evals-per-child", type=int, default=10)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    names = args.selectors.split(",")

    print(
        f"seed quality {args.q0}, child = parent + N({args.drift}, {args.noise}) clipped to "
        f"[0, 1]; {args.evals_per_child} evaluations per new child (hgm: 1, then its rule); "
        f"{args.seeds} seeds; mean [95% interval of the mean]"
    )
    print("pick = true quality of the node the selector answers with; best = best node created")
    header = f"{'selector':<10} {'E':>5}  {'pick':>22}  {'best':>22}"
    print(header)
    print("-" * len(header))
    started = time.monotonic()
    for name in names:
        runs = [simulate(name, seed, budgets, args) for seed in range(args.seeds)]
        for budget in budgets:
            pick = interval([run[budget][0] for run in runs])
            best = interval([run[budget][1] for run in runs])
            print(
                f"{name:<10} {budget:>5}  {pick[0]:.3f} [{pick[1]:.3f}, {pick[2]:.3f}]  "
                f"{best[0]:.3f} [{best[1]:.3f}, {best[2]:.3f}]"
            )
    print(f"({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()

"""Which operator makes the next child: a fixed mix, or a bandit on gain per unit of cost.

Every draw comes from the run's RNG (the one parent selection uses, saved after each
decision), so a resumed run continues the same sequence of choices. A policy with one
operator draws nothing: a run configured as before makes the same choices as before.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from agentforge.evolve.operators.stats import OperatorStats

EXPLORE = 0.1
"""The bandit's share of uniformly random choices once every operator has been tried."""


class OperatorPolicy:
    """Chooses an operator for each step."""

    def __init__(self, weights: Mapping[str, float], kind: str = "mix") -> None:
        self.names = [name for name, weight in weights.items() if weight > 0]
        self.weights = [weights[name] for name in self.names]
        self.kind = kind

    def choose(self, rng: random.Random,
               stats: Callable[[], Mapping[str, OperatorStats]]) -> str:
        """The operator of the next step (`stats` is read only by the bandit)."""
        if len(self.names) == 1:
            return self.names[0]
        if self.kind == "mix":
            return rng.choices(self.names, weights=self.weights)[0]
        return bandit_choice(self.names, stats(), rng)


def bandit_choice(names: Sequence[str], stats: Mapping[str, OperatorStats],
                  rng: random.Random) -> str:
    """An untried operator first; then the best gain per cost, or at random EXPLORE of the time."""
    untried = [n for n in names if not stats.get(n) or not stats[n].children]
    if untried:
        return untried[0] if len(untried) == 1 else rng.choice(untried)
    if rng.random() < EXPLORE:
        return rng.choice(list(names))
    # Ties (nothing gained yet anywhere) go to the cheapest operator per child.
    return max(names, key=lambda n: (stats[n].gain_per_cost,
                                     -stats[n].cost / max(stats[n].children, 1)))

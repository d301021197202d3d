"""`dgm`: the Darwin Gödel Machine's parent selection.

weight(node) = sigmoid(steepness * (score - midpoint)) / (1 + children), over validated nodes
with at least one finished evaluation; nodes with a perfect score are left out (nothing left
to improve); parents are drawn with replacement.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from agentforge.evolve.selection.base import (
    ExpandingSelector,
    NodeLike,
    NoParentAvailable,
    children_counts,
    score,
    scored_parents,
    weighted_choice,
)


class DgmConfig(BaseModel):
    """Constants of DGM's selection."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    steepness: float = 10.0
    """λ: how sharply the sigmoid separates scores around the midpoint."""
    midpoint: float = 0.5
    """α0: the score that gets half the maximal weight."""
    exclude_perfect: bool = True
    """Leave out nodes that resolved every task they were evaluated on."""


def dgm_weights(nodes: Sequence[NodeLike], config: DgmConfig | None = None) -> dict[int, float]:
    """The selection weight of every candidate parent (unnormalised)."""
    config = config or DgmConfig()
    children = children_counts(nodes)
    weights: dict[int, float] = {}
    for node in scored_parents(nodes):
        value = score(node)
        if config.exclude_perfect and value >= 1.0:
            continue
        sigmoid = 1.0 / (1.0 + math.exp(-config.steepness * (value - config.midpoint)))
        weights[node.id] = sigmoid / (1 + children.get(node.id, 0))
    return weights


class DgmSelector(ExpandingSelector):
    """Sample parents by DGM's score-and-novelty weights."""

    Config = DgmConfig

    def __init__(self, config: DgmConfig | None = None) -> None:
        self.config = config or DgmConfig()

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """One parent drawn in proportion to its DGM weight."""
        weights = dgm_weights(nodes, self.config)
        if not weights:
            raise NoParentAvailable(
                f"dgm has no parent among {len(nodes)} nodes: none is validated, scored and "
                "below a perfect score; wait for evaluations or use another selector"
            )
        return weighted_choice(list(weights), list(weights.values()), rng)

"""`dgm`: the Darwin Gödel Machine's parent selection.

weight(node) = sigmoid(steepness * (score - midpoint)) / (1 + valid children), over validated
nodes with at least one finished evaluation; nodes that finished their evaluation with a
perfect score are left out (nothing left to improve); parents are drawn with replacement.
(DGM_outer.py choose_selfimproves, method score_child_prop: steepness 10, midpoint 0.5.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from agentforge.evolve.selection.base import (
    ExpandingSelector,
    NodeLike,
    NoParentAvailable,
    finished_evaluating,
    score,
    scored_parents,
    valid_children_counts,
    weighted_choice,
)


class DgmConfig(BaseModel):
    """Constants of DGM's selection (the paper's λ is `steepness`, its α0 is `midpoint`)."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, populate_by_name=True
    )

    steepness: float = Field(default=10.0, validation_alias=AliasChoices("steepness", "lambda_"))
    """λ: how sharply the sigmoid separates scores around the midpoint (old key: lambda_)."""
    midpoint: float = Field(default=0.5, validation_alias=AliasChoices("midpoint", "alpha0"))
    """α0: the score that gets half the maximal weight (old key: alpha0)."""
    exclude_perfect: bool = True
    """Leave out nodes whose evaluation finished with every task resolved (a node still being
    evaluated at 3/3 stays in: it is the most promising, not finished)."""


def dgm_weights(nodes: Sequence[NodeLike], config: DgmConfig | None = None) -> dict[int, float]:
    """The selection weight of every candidate parent (unnormalised)."""
    config = config or DgmConfig()
    children = valid_children_counts(nodes)
    weights: dict[int, float] = {}
    for node in scored_parents(nodes):
        value = score(node)
        if config.exclude_perfect and value >= 1.0 and finished_evaluating(node):
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

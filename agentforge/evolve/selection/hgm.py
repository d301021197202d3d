"""`hgm`: the Huxley-Gödel Machine's search.

Each node's clade (itself and all its descendants) pools its evaluations into a posterior
Beta(1 + successes, 1 + failures). The next action expands (makes a child of a node drawn by
Thompson sampling on clade posteriors) while evaluations^alpha >= tree size; otherwise it
evaluates one more task of a node drawn by Thompson sampling on the node's own posterior.
The run's answer is the node whose own posterior has the highest low quantile.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from agentforge.evolve.selection.base import (
    Action,
    EvaluateMore,
    Expand,
    NodeLike,
    NoParentAvailable,
    can_be_parent,
    clade_totals,
    evaluated,
)
from agentforge.evolve.selection.beta import beta_quantile


class HgmConfig(BaseModel):
    """Constants of HGM's search."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    alpha: float = Field(default=0.6, gt=0.0, le=1.0)
    """Expand only while (finished evaluations) ** alpha >= number of nodes in the tree."""
    final_quantile: float = Field(default=0.25, gt=0.0, lt=1.0)
    """The final pick maximises this quantile of a node's own posterior (low = cautious)."""


def should_expand(nodes: Sequence[NodeLike], alpha: float) -> bool:
    """HGM's rule: expand while evaluations^alpha >= tree size."""
    total = sum(evaluated(n) for n in nodes)
    return total**alpha >= len(nodes)


def _thompson(candidates: dict[int, tuple[int, int]], rng: random.Random) -> int:
    draws = {i: rng.betavariate(1 + s, 1 + f) for i, (s, f) in candidates.items()}
    return max(draws, key=draws.__getitem__)


def _evaluable(node: NodeLike) -> bool:
    tasks_left = getattr(node, "tasks_left", None)
    return can_be_parent(node) and (tasks_left is None or tasks_left > 0)


class HgmSelector:
    """Thompson sampling over clades, with HGM's expand-or-evaluate rule."""

    Config = HgmConfig

    def __init__(self, config: HgmConfig | None = None) -> None:
        self.config = config or HgmConfig()

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """A parent drawn by Thompson sampling on clade-pooled posteriors."""
        totals = clade_totals(nodes)
        candidates = {n.id: totals[n.id] for n in nodes if can_be_parent(n)}
        if not candidates:
            raise NoParentAvailable(
                f"hgm has no parent among {len(nodes)} nodes: none is validated yet; "
                "wait for validation (invalid and failed nodes never count)"
            )
        return _thompson(candidates, rng)

    def select_for_evaluation(self, nodes: Sequence[NodeLike], rng: random.Random) -> int | None:
        """A node with tasks left, drawn by Thompson sampling on its own posterior."""
        candidates = {n.id: (n.successes, n.failures) for n in nodes if _evaluable(n)}
        return _thompson(candidates, rng) if candidates else None

    def next_action(self, nodes: Sequence[NodeLike], rng: random.Random) -> Action:
        """Expand while the tree is small for its evaluations, else evaluate one more task."""
        if not should_expand(nodes, self.config.alpha):
            node_id = self.select_for_evaluation(nodes, rng)
            if node_id is not None:
                return EvaluateMore(node_id)
        return Expand(self.select_parent(nodes, rng))

    def best_node(self, nodes: Sequence[NodeLike]) -> int:
        """The node whose own posterior has the highest `final_quantile`."""
        candidates = [n for n in nodes if can_be_parent(n) and evaluated(n) > 0]
        if not candidates:
            raise NoParentAvailable(
                f"hgm cannot pick a final node among {len(nodes)}: none has a finished evaluation"
            )
        q = self.config.final_quantile
        return max(candidates, key=lambda n: beta_quantile(q, 1 + n.successes, 1 + n.failures)).id

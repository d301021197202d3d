"""`hgm`: the Huxley-Gödel Machine's search (metauto-ai/HGM, hgm.py and tree.py).

The tree holds the seed and every child that joined the archive (failed and invalid children
are not in it; a child still being validated is an expansion in flight). Each decision:

1. Expand iff N**alpha >= (tree size - 1) + expansions in flight, where N counts evaluations
   *started* on nodes other than the seed (hgm.py `sample`; `n_task_evals` grows when an
   evaluation is submitted, and the seed's cached evaluations are not in it). The reference's
   workers do either kind of work; ours are two pools, so with no free self-improvement
   worker it evaluates instead and the evaluation workers do not idle.
2. Expand: Thompson sampling on clade posteriors Beta(1 + s, 1 + f) (the node's own results
   pooled with all its descendants') over nodes with at least one finished evaluation and a
   mean above 0 (hgm.py `expand`; `parent_rule = "validated"` keeps every validated node).
3. Evaluate: Thompson sampling on each node's own posterior over tree nodes that still have
   an unstarted task (hgm.py `sample`; tasks in flight count as taken).

Once the iteration budget is spent it keeps evaluating until the rule would expand again:
the tree then has the evaluations the rule pairs with its size.

A new child gets `initial_evaluations` tasks (the reference: 0; 1 keeps our crash-on-first-
task check) and every further evaluation is an EvaluateMore decision. The run's own answer is
the node whose own posterior has the highest low quantile.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentforge.evolve.selection.base import (
    IDLE,
    Action,
    EvaluateMore,
    Expand,
    NodeLike,
    NoParentAvailable,
    WorkInFlight,
    can_be_parent,
    clade_totals,
    evaluated,
    joined_archive,
    started,
)
from agentforge.evolve.selection.beta import beta_quantile


class HgmConfig(BaseModel):
    """Constants of HGM's search."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    alpha: float = Field(default=0.6, gt=0.0, le=1.0)
    """Expand iff (evaluations started, seed excluded) ** alpha >= tree size - 1 + expansions
    in flight (the reference's config.yaml: 0.6)."""
    final_quantile: float = Field(default=0.25, gt=0.0, lt=1.0)
    """The final pick maximises this quantile of a node's own posterior (low = cautious)."""
    parent_rule: Literal["scored", "validated"] = "scored"
    """Parent candidates: `scored` (the reference: a finished evaluation and a mean above 0,
    falling back to every scored node while none has a success) or `validated` (every
    validated node, the earlier behaviour)."""
    initial_evaluations: int = Field(default=1, ge=0)
    """Tasks a new child runs before the search decides its further evaluations (the
    reference: 0; 1 lets a crash on the first task mark the child invalid at once). The seed
    is evaluated by the configured stages, as the reference evaluates it up front."""


def tree_nodes(nodes: Sequence[NodeLike]) -> list[NodeLike]:
    """The seed and the children that joined the archive (validated, not invalid or failed;
    a copy of another node counts: it was an expansion)."""
    return [n for n in nodes if joined_archive(n)]


def evaluations_started(nodes: Sequence[NodeLike]) -> int:
    """N of the expand rule: evaluations started on every node but the seed."""
    # Evaluations of a child found invalid later were spent all the same: they count.
    return sum(started(n) for n in nodes if n.parent_id is not None)


def should_expand(nodes: Sequence[NodeLike], alpha: float, expansions_in_flight: int = 0) -> bool:
    """HGM's rule: N**alpha >= (tree size - 1) + expansions in flight."""
    tree = len(tree_nodes(nodes))
    return evaluations_started(nodes) ** alpha >= tree - 1 + expansions_in_flight


def _thompson(candidates: dict[int, tuple[int, int]], rng: random.Random) -> int:
    draws = {i: rng.betavariate(1 + s, 1 + f) for i, (s, f) in candidates.items()}
    return max(draws, key=draws.__getitem__)


def _has_unstarted_task(node: NodeLike) -> bool:
    tasks_left = getattr(node, "tasks_left", None)
    return tasks_left is None or tasks_left > 0


class HgmSelector:
    """Thompson sampling over clades, with HGM's expand-or-evaluate rule."""

    Config = HgmConfig

    def __init__(self, config: HgmConfig | None = None) -> None:
        self.config = config or HgmConfig()

    @property
    def initial_evaluations(self) -> int:
        """Tasks a new child runs before the search takes over its evaluation."""
        return self.config.initial_evaluations

    def parent_candidates(self, nodes: Sequence[NodeLike]) -> list[NodeLike]:
        """Nodes that may be expanded under `parent_rule`."""
        validated = [n for n in tree_nodes(nodes) if can_be_parent(n)]  # copies: never
        if self.config.parent_rule == "validated":
            return validated
        scored = [n for n in validated if evaluated(n) > 0]
        # The reference would stop here (its sampler gets an empty list) when no node has a
        # success yet; a weak seed should still be improved, so every scored node is eligible.
        return [n for n in scored if n.successes > 0] or scored

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """A parent drawn by Thompson sampling on clade-pooled posteriors."""
        totals = clade_totals(nodes)
        candidates = {n.id: totals[n.id] for n in self.parent_candidates(nodes)}
        if not candidates:
            raise NoParentAvailable(
                f"hgm has no parent among {len(nodes)} nodes: none is validated with a finished "
                "evaluation yet; wait for evaluations (invalid and failed nodes never count)"
            )
        return _thompson(candidates, rng)

    def select_for_evaluation(self, nodes: Sequence[NodeLike], rng: random.Random) -> int | None:
        """A tree node with an unstarted task, drawn by Thompson sampling on its own posterior."""
        candidates = {
            n.id: (n.successes, n.failures) for n in tree_nodes(nodes)
            if can_be_parent(n) and _has_unstarted_task(n)
        }
        return _thompson(candidates, rng) if candidates else None

    def next_action(
        self, nodes: Sequence[NodeLike], rng: random.Random, work: WorkInFlight = IDLE
    ) -> Action:
        """Expand while evaluations outgrow the tree (and a worker is free), else evaluate."""
        expand_due = should_expand(nodes, self.config.alpha, work.expansions)
        if expand_due and work.expansion_over:
            # The iteration budget bought a tree of this size, and the rule has now paired it
            # with its evaluations: the search is over.
            raise NoParentAvailable(
                "hgm is done: the iteration budget is spent and the tree has the evaluations "
                f"alpha={self.config.alpha} pairs with its size"
            )
        if expand_due and work.can_expand:
            try:
                return Expand(self.select_parent(nodes, rng))
            except NoParentAvailable:
                pass  # nothing scored yet: evaluating is the only way forward
        node_id = self.select_for_evaluation(nodes, rng)
        if node_id is not None:
            return EvaluateMore(node_id)
        if work.can_expand:
            # Every task of every node is started: only a new child can use the budget.
            return Expand(self.select_parent(nodes, rng))
        raise NoParentAvailable(
            "hgm has nothing to start: every task of every node is started and no "
            "self-improvement worker is free"
        )

    def best_node(self, nodes: Sequence[NodeLike]) -> int:
        """The node whose own posterior has the highest `final_quantile`."""
        candidates = [n for n in nodes if can_be_parent(n) and evaluated(n) > 0]
        if not candidates:
            raise NoParentAvailable(
                f"hgm cannot pick a final node among {len(nodes)}: none has a finished evaluation"
            )
        q = self.config.final_quantile
        return max(candidates, key=lambda n: beta_quantile(q, 1 + n.successes, 1 + n.failures)).id

"""Baseline selectors: `greedy`, `random`, `no-archive`, `best-of-n`."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from agentforge.evolve.selection.base import (
    ExpandingSelector,
    NodeLike,
    NoParentAvailable,
    best_by_score,
    can_be_parent,
)


class NoConfig(BaseModel):
    """These selectors have no constants."""

    model_config = ConfigDict(extra="forbid")


class GreedySelector(ExpandingSelector):
    """Always the best-scoring node so far."""

    Config = NoConfig

    def __init__(self, config: NoConfig | None = None) -> None:
        self.config = config or NoConfig()

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """The best-scoring node (ties: more evaluations, then earlier)."""
        return best_by_score(nodes)


class RandomSelector(ExpandingSelector):
    """Any validated node, uniformly."""

    Config = NoConfig

    def __init__(self, config: NoConfig | None = None) -> None:
        self.config = config or NoConfig()

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """A uniformly drawn validated node."""
        candidates = [n.id for n in nodes if can_be_parent(n)]
        if not candidates:
            raise NoParentAvailable("random has no validated node to choose yet")
        return rng.choice(candidates)


class LatestSelector(ExpandingSelector):
    """Always the latest validated node: DGM without open-ended exploration."""

    Config = NoConfig

    def __init__(self, config: NoConfig | None = None) -> None:
        self.config = config or NoConfig()

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """The last validated node in creation order."""
        for node in reversed(nodes):
            if can_be_parent(node):
                return node.id
        raise NoParentAvailable("no-archive has no validated node to continue from yet")


class SeedSelector(ExpandingSelector):
    """Always the seed: n independent attempts at one improvement (best-of-n)."""

    Config = NoConfig

    def __init__(self, config: NoConfig | None = None) -> None:
        self.config = config or NoConfig()

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        """The root node, if it is usable."""
        for node in nodes:
            if node.parent_id is None:
                if can_be_parent(node):
                    return node.id
                break
        raise NoParentAvailable("best-of-n needs a validated seed node; none is available")

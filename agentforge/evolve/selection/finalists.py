"""The final-pick rule common to every selector: which agents are re-scored on held-out tasks.

Finalists are the top_k validated, scored nodes by a cautious score (a lucky 1/1 at 0.431
ranks below 6/10 at 0.447), then more evaluations. They are distinct agents: of nodes with
the same tree (a copy, a merge that reproduced a node) only the best-ranked one can be a
finalist. Nodes with the same tallies are tied, and a tie is broken toward lineages the
finalists do not cover yet (`ties = "lineages"`: the tied node farthest in the tree from the
finalists already chosen) or by creation order (`ties = "earliest"`). Each finalist carries
the reason it was chosen, which report.json shows.

A node seen on few tasks can rank below the finalists only for want of evidence (3/3 has a
cautious score of 0.64, 17/20 of 0.74). `top_up_due` names the nodes whose hopeful score
(mean plus one standard deviation) still reaches the last finalist's cautious score: the run
gives them more validation tasks before it chooses (evaluation/finalize.py), until each is in
or out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agentforge.evolve.selection.base import NodeLike, evaluated, scored_parents

Ties = Literal["lineages", "earliest"]


@dataclass(frozen=True)
class Finalist:
    """A node chosen for held-out re-scoring, and why."""

    id: int
    why: str


def cautious_score(node: NodeLike) -> float:
    """Mean minus one standard deviation of the Beta(1 + successes, 1 + failures) posterior."""
    a, b = 1 + node.successes, 1 + node.failures
    return a / (a + b) - math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def hopeful_score(node: NodeLike) -> float:
    """Mean plus one standard deviation of the same posterior: what more tasks could show."""
    a, b = 1 + node.successes, 1 + node.failures
    return a / (a + b) + math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


@dataclass(frozen=True)
class TopUp:
    """A node that more validation tasks could make a finalist, and why."""

    id: int
    why: str


def top_up_due(nodes: Sequence[NodeLike], top_k: int, *,
               trees: Mapping[int, str] | None = None,
               ties: Ties = "lineages") -> list[TopUp]:
    """The distinct agents left out of the finalists whose hopeful score exceeds the last
    finalist's cautious score (none while the finalists are fewer than `top_k`: every agent
    is one); best hopeful score first."""
    chosen = choose_finalists(nodes, top_k, trees=trees, ties=ties)
    if len(chosen) < top_k:
        return []
    last = next(n for n in nodes if n.id == chosen[-1].id)
    bar = cautious_score(last)
    trees = trees or {}
    taken = {trees.get(f.id, f"node {f.id}") for f in chosen}  # the finalists' agents
    ranked = sorted((n for n in scored_parents(nodes) if trees.get(n.id, f"node {n.id}")
                     not in taken), key=lambda n: (-hopeful_score(n), n.id))
    distinct, _ = _one_per_tree(ranked, trees)
    return [TopUp(n.id, f"{n.successes}/{evaluated(n)} validation tasks: hopeful score "
                        f"{hopeful_score(n):.3f} above {bar:.3f}, the cautious score of "
                        f"finalist {last.id} ({last.successes}/{evaluated(last)})")
            for n in distinct if hopeful_score(n) > bar]


def choose_finalists(nodes: Sequence[NodeLike], top_k: int, *,
                     trees: Mapping[int, str] | None = None,
                     ties: Ties = "lineages") -> list[Finalist]:
    """The finalists in rank order; `trees` maps node ids to their agents' tree hashes
    (nodes without one are distinct agents); `nodes` come in creation order."""
    order = {n.id: i for i, n in enumerate(nodes)}
    ranked = sorted(scored_parents(nodes),
                    key=lambda n: (-cautious_score(n), -evaluated(n), order[n.id]))
    distinct, same_as = _one_per_tree(ranked, trees or {})
    family = _Family({n.id: n.parent_id for n in nodes})
    chosen: list[Finalist] = []
    while distinct and len(chosen) < top_k:
        best = distinct[0]
        tied = [n for n in distinct if (n.successes, n.failures) == (best.successes,
                                                                      best.failures)]
        pick, why = tied[0], ""
        if len(tied) > 1:
            pick, why = _break_tie(tied, [f.id for f in chosen], family, ties, order)
        distinct.remove(pick)
        copies = sorted(i for i, kept in same_as.items() if kept == pick.id)
        chosen.append(Finalist(pick.id, _reason(len(chosen) + 1, pick, why, copies)))
    return chosen


def finalist_ids(nodes: Sequence[NodeLike], top_k: int, *,
                 trees: Mapping[int, str] | None = None, ties: Ties = "lineages") -> list[int]:
    """The ids of `choose_finalists`."""
    return [f.id for f in choose_finalists(nodes, top_k, trees=trees, ties=ties)]


def _one_per_tree(ranked: list[NodeLike], trees: Mapping[int, str]
                  ) -> tuple[list[NodeLike], dict[int, int]]:
    """The best-ranked node of each tree, and each left-out node's kept equal."""
    kept: dict[str, int] = {}
    distinct, same_as = [], {}
    for node in ranked:
        tree = trees.get(node.id)
        if tree is not None and tree in kept:
            same_as[node.id] = kept[tree]
            continue
        if tree is not None:
            kept[tree] = node.id
        distinct.append(node)
    return distinct, same_as


def _break_tie(tied: list[NodeLike], chosen: list[int], family: _Family, ties: Ties,
               order: Mapping[int, int]) -> tuple[NodeLike, str]:
    others = ", ".join(str(n.id) for n in tied[1:])
    if ties == "earliest" or not chosen:
        return tied[0], f"tied with nodes {others}; the earliest"
    spread = {n.id: min(family.distance(n.id, c) for c in chosen) for n in tied}
    pick = max(tied, key=lambda n: (spread[n.id], -order[n.id]))
    rest = ", ".join(str(n.id) for n in tied if n is not pick)
    return pick, (f"tied with nodes {rest}; the farthest in the tree from the finalists "
                  f"before it ({spread[pick.id]} steps)")


def _reason(rank: int, node: NodeLike, why: str, copies: list[int]) -> str:
    text = (f"rank {rank}: cautious score {cautious_score(node):.3f} "
            f"({node.successes}/{evaluated(node)} validation tasks)")
    if why:
        text += f", {why}"
    if copies:
        text += f"; nodes {', '.join(map(str, copies))} are the same agent, left out"
    return text


class _Family:
    """Distances in the tree of parents (crossover's second parent not counted)."""

    def __init__(self, parents: Mapping[int, int | None]) -> None:
        self.parents = parents

    def ancestors(self, node_id: int) -> dict[int, int]:
        """The node and its ancestors, each with its number of steps up from the node."""
        steps, cursor, up = {}, node_id, 0
        while cursor is not None and cursor not in steps:
            steps[cursor] = up
            cursor, up = self.parents.get(cursor), up + 1
        return steps

    def distance(self, first: int, second: int) -> int:
        """Steps from one node to the other through their nearest common ancestor."""
        mine = self.ancestors(first)
        for cursor, up in self.ancestors(second).items():
            if cursor in mine:
                return mine[cursor] + up
        return len(mine) + len(self.ancestors(second))  # different roots: as far as can be

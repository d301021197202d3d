"""What every selector shares: the plain node data it reads, the actions it returns, helpers."""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agentforge.errors import AgentforgeError
from agentforge.store.records import NOT_RUNNABLE

# Nodes that broke the agent or whose step failed are never parents (nor final picks).
EXCLUDED_STATUSES = frozenset(status.value for status in NOT_RUNNABLE)
# A pending node has not been validated yet: it cannot be a parent until it has.
WAITING_STATUSES = frozenset({"pending"})


class NoParentAvailable(AgentforgeError):
    """No node can be chosen now (nothing validated and scored yet, or all excluded)."""


class NodeLike(Protocol):
    """The fields selection reads (store.NodeSummary and NodeView both have them)."""

    @property
    def id(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def successes(self) -> int: ...
    @property
    def failures(self) -> int: ...


@dataclass(frozen=True)
class NodeView:
    """A node as selection sees it; nodes are passed in creation order."""

    id: int
    parent_id: int | None
    successes: int = 0
    failures: int = 0
    status: str = "evaluated"
    tasks_left: int | None = None
    """Validation tasks not yet started, neither finished nor in flight (None: unknown,
    treated as some left)."""
    in_flight: int = 0
    """Evaluations of this node started and not finished yet."""
    copy_of: int | None = None
    """The node whose agent this one is (never evaluated, never a parent)."""


@dataclass(frozen=True)
class Expand:
    """Make a child of `parent_id` (one self-improvement step)."""

    parent_id: int


@dataclass(frozen=True)
class EvaluateMore:
    """Spend budget on one more task of `node_id` instead of a new child (HGM)."""

    node_id: int


Action = Expand | EvaluateMore


@dataclass(frozen=True)
class WorkInFlight:
    """What the scheduler has running when it asks for a decision."""

    expansions: int = 0
    """Self-improvement steps started whose child has not joined the archive yet."""
    can_expand: bool = True
    """A self-improvement worker is free now (else only an evaluation can start)."""
    expansion_over: bool = False
    """The iteration budget is spent: no child will ever be made again in this run."""


IDLE = WorkInFlight()


class Selector(Protocol):
    """Chooses what to grow next, and which agent is the run's answer."""

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int: ...
    def next_action(
        self, nodes: Sequence[NodeLike], rng: random.Random, work: WorkInFlight = IDLE
    ) -> Action: ...
    def best_node(self, nodes: Sequence[NodeLike]) -> int: ...


class ExpandingSelector:
    """Base of selectors that always expand: next_action is Expand(select_parent(...))."""

    def select_parent(self, nodes: Sequence[NodeLike], rng: random.Random) -> int:
        raise NotImplementedError

    def next_action(
        self, nodes: Sequence[NodeLike], rng: random.Random, work: WorkInFlight = IDLE
    ) -> Action:
        """Always a new child of the selected parent."""
        return Expand(self.select_parent(nodes, rng))

    def best_node(self, nodes: Sequence[NodeLike]) -> int:
        """The scored node with the best score (more evaluations break ties)."""
        return best_by_score(nodes)


def status_of(node: NodeLike) -> str:
    """The status as a plain string (enums included)."""
    return str(getattr(node.status, "value", node.status))


def joined_archive(node: NodeLike) -> bool:
    """Validated and not excluded: a valid agent, a copy included (it counts as its
    parent's child)."""
    status = status_of(node)
    return status not in EXCLUDED_STATUSES and status not in WAITING_STATUSES


def is_copy(node: NodeLike) -> bool:
    """The node is the agent of another node (the same tree), evaluated there."""
    return getattr(node, "copy_of", None) is not None


def can_be_parent(node: NodeLike) -> bool:
    """Joined the archive and no copy (its original is the parent, the finalist, the node
    evaluated)."""
    return joined_archive(node) and not is_copy(node)


def evaluated(node: NodeLike) -> int:
    """Number of finished evaluations of the node."""
    return node.successes + node.failures


def started(node: NodeLike) -> int:
    """Evaluations of the node started: finished plus in flight."""
    return evaluated(node) + getattr(node, "in_flight", 0)


def finished_evaluating(node: NodeLike) -> bool:
    """Its planned evaluation is over (status `evaluated`)."""
    return status_of(node) == "evaluated"


def score(node: NodeLike) -> float:
    """Share of resolved evaluations (0 for a node without any)."""
    n = evaluated(node)
    return node.successes / n if n else 0.0


def scored_parents(nodes: Iterable[NodeLike]) -> list[NodeLike]:
    """Nodes that can be parents and have at least one finished evaluation."""
    return [n for n in nodes if can_be_parent(n) and evaluated(n) > 0]


def best_by_score(nodes: Sequence[NodeLike]) -> int:
    """Highest score, then most evaluations, then the earliest node."""
    candidates = scored_parents(nodes)
    if not candidates:
        raise NoParentAvailable(_nothing_scored(nodes))
    order = {n.id: i for i, n in enumerate(nodes)}
    return max(candidates, key=lambda n: (score(n), evaluated(n), -order[n.id])).id


def best_lineage(nodes: Sequence[NodeLike], excluded: Collection[int] = ()
                 ) -> tuple[int | None, list[int]]:
    """The best node by score (None while nothing is scored) and its ancestors, seed first;
    a node in `excluded` (its graders disagreed) is never the best."""
    try:
        best_id = best_by_score([node for node in nodes if node.id not in excluded])
    except NoParentAvailable:
        return None, []
    parents = {n.id: n.parent_id for n in nodes}
    lineage, cursor = [], best_id
    while cursor is not None:
        lineage.insert(0, cursor)
        cursor = parents.get(cursor)
    return best_id, lineage


def valid_children_counts(nodes: Iterable[NodeLike]) -> dict[int, int]:
    """How many valid children (validated, not invalid or failed) each node has."""
    # DGM_outer.py choose_selfimproves counts children among the archive, which holds only
    # children that compiled: failed, invalid and not-yet-validated children do not count;
    # a copy of another node compiled, and counts.
    counts: dict[int, int] = {}
    for node in nodes:
        if node.parent_id is not None and joined_archive(node):
            counts[node.parent_id] = counts.get(node.parent_id, 0) + 1
    return counts


def clade_totals(nodes: Sequence[NodeLike]) -> dict[int, tuple[int, int]]:
    """(successes, failures) of each node pooled with all its descendants."""
    # The paper's clade: the node's own results plus every descendant's, each counted once.
    # HGM's tree.py get_decendant_evals appends the descendants' results into the list that
    # holds the node's own record (a shared list), so each call inflates that node's own
    # evaluations; we follow the paper's definition, not that side effect.
    children: dict[int, list[int]] = {}
    own = {n.id: (n.successes, n.failures) for n in nodes}
    for n in nodes:
        if n.parent_id is not None and n.parent_id in own:
            children.setdefault(n.parent_id, []).append(n.id)
    totals: dict[int, tuple[int, int]] = {}
    for root in own:
        # Iterative post-order: deep lineages must not hit the recursion limit.
        stack = [(root, False)]
        while stack:
            node_id, expanded = stack.pop()
            if node_id in totals:
                continue
            if not expanded:
                stack.append((node_id, True))
                stack.extend((c, False) for c in children.get(node_id, ()) if c not in totals)
                continue
            s, f = own[node_id]
            for c in children.get(node_id, ()):
                s += totals[c][0]
                f += totals[c][1]
            totals[node_id] = (s, f)
    return totals


def weighted_choice(ids: Sequence[int], weights: Sequence[float], rng: random.Random) -> int:
    """One id drawn with probability proportional to its weight."""
    return rng.choices(list(ids), weights=list(weights), k=1)[0]


def _nothing_scored(nodes: Sequence[NodeLike]) -> str:
    return (
        f"no parent available among {len(nodes)} nodes: none is validated with a finished "
        "evaluation yet; wait for evaluations to finish (invalid and failed nodes never count)"
    )


def rng_state_to_json(rng: random.Random) -> str:
    """The generator's state as JSON, to store with the run and restore on resume."""
    version, internal, gauss_next = rng.getstate()
    return json.dumps([version, list(internal), gauss_next])


def rng_from_json(state: str) -> random.Random:
    """A generator continuing exactly where the saved one stopped."""
    version, internal, gauss_next = json.loads(state)
    rng = random.Random()
    rng.setstate((version, tuple(internal), gauss_next))
    return rng

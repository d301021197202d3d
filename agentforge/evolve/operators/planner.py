"""How a child is made: the operators (self_edit, prompt_mutation, crossover) and the policy
that picks one per step. The loop asks `OperatorPlanner.plan` on its thread (draws from the
run's RNG) and runs the planned operator with `OperatorPlanner.run` on a worker."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.operators.crossover import crossover
from agentforge.evolve.operators.policy import OperatorPolicy
from agentforge.evolve.operators.prompt_mutation import prompt_mutation
from agentforge.evolve.operators.self_edit import self_edit
from agentforge.evolve.operators.stats import operator_stats
from agentforge.store.tables import VALIDATED

Operator = Callable[[RunContext, int, int | None], int]
OPERATORS: dict[str, Operator] = {"self_edit": self_edit, "prompt_mutation": prompt_mutation,
                                  "crossover": crossover}


class OperatorPlanner:
    """The run's operator policy and the plans chosen for steps not yet started."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        improve = ctx.config.improve
        self.policy = OperatorPolicy(improve.operators, improve.operator_policy)
        self._plans: dict[int, deque[tuple[str, int | None]]] = {}
        self._crashed: dict[int, deque[tuple[str, int | None]]] = {}
        self._lock = threading.Lock()

    def plan(self, parent_id: int, views: Sequence, rng: random.Random) -> dict:
        """Choose the operator (and crossover's second parent) of a step of `parent_id`."""
        ctx = self.ctx
        operator = self.policy.choose(rng, lambda: operator_stats(
            ctx.store, ctx.ledger, ctx.run_id, ctx.config.benchmark.validation_split))
        second = None
        if operator == "crossover":
            second = second_parent(views, parent_id, rng)
            if second is None:  # nothing to cross with yet: the step is a self-edit
                operator = "self_edit"
        with self._lock:
            self._plans.setdefault(parent_id, deque()).append((operator, second))
        return {"operator": operator, "second_parent_id": second}

    def run(self, parent_id: int) -> int:
        """Run the step planned for `parent_id` (self_edit if none); return the child's id."""
        with self._lock:
            queue = self._plans.get(parent_id)
            operator, second = queue.popleft() if queue else ("self_edit", None)
        started = time.monotonic()
        try:
            node_id = OPERATORS[operator](self.ctx, parent_id, second)
        except BaseException:  # the loop archives the crash as a failed node: see record_crash
            with self._lock:
                self._crashed.setdefault(parent_id, deque()).append((operator, second))
            raise
        self.ctx.store.add_event(self.ctx.run_id, "operator", f"node {node_id} by {operator}",
                                 node_id=node_id,
                                 data={"operator": operator, "second_parent_id": second,
                                       "seconds": round(time.monotonic() - started, 3)})
        return node_id


    def record_crash(self, node_id: int, parent_id: int) -> None:
        """Give the failed node the loop made of a crashed step its operator."""
        with self._lock:
            queue = self._crashed.get(parent_id)
            if not queue:
                return
            operator, second = queue.popleft()
        self.ctx.store.set_node_operator(node_id, operator, second_parent_id=second)


def second_parent(views: Sequence, parent_id: int, rng: random.Random) -> int | None:
    """Another scored valid node, drawn in proportion to its score (None if there is none),
    off the parent's own line when there is one: an ancestor's changes are already in the
    parent, and a descendant already holds the parent's, so merging either gives no new
    agent (crossover makes that an invalid node, no evaluation spent)."""
    scored = [v for v in views if v.id != parent_id and v.status in VALIDATED
              and v.successes + v.failures]
    if not scored:
        return None
    kin = _line_of(views, parent_id)
    others = [v for v in scored if v.id not in kin] or scored
    weights = [v.successes / (v.successes + v.failures) + 0.01 for v in others]
    return rng.choices([v.id for v in others], weights=weights)[0]


def _line_of(views: Sequence, node_id: int) -> set[int]:
    """`node_id`, its ancestors and its descendants (by first parent)."""
    parents = {v.id: v.parent_id for v in views}
    line, cursor = {node_id}, parents.get(node_id)
    while cursor is not None and cursor not in line:
        line.add(cursor)
        cursor = parents.get(cursor)
    below = {node_id}
    for view in views:  # creation order: a parent comes before its children
        if view.parent_id in below:
            below.add(view.id)
    return line | below

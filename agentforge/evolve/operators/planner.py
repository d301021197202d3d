"""How a child is made: the operators (self_edit, prompt_mutation, crossover) and the policy
that picks one per step. The loop asks `OperatorPlanner.plan` on its thread (draws from the
run's RNG) for the step's `StepPlan`, and the scheduler runs it with `OperatorPlanner.run` on
a worker."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.operators.crossover import crossover
from agentforge.evolve.operators.policy import OperatorPolicy
from agentforge.evolve.operators.prompt_mutation import prompt_mutation
from agentforge.evolve.operators.self_edit import self_edit
from agentforge.evolve.operators.stats import operator_stats
from agentforge.evolve.step import StepOutcome, StepPlan
from agentforge.store.records import VALIDATED

Operator = Callable[[RunContext, StepPlan], StepOutcome]
OPERATORS: dict[str, Operator] = {"self_edit": self_edit, "prompt_mutation": prompt_mutation,
                                  "crossover": crossover}


class OperatorPlanner:
    """The run's operator policy: plans each step and runs the planned operator."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        improve = ctx.config.improve
        self.policy = OperatorPolicy(improve.operators, improve.operator_policy)

    def plan(self, parent_id: int, views: Sequence, rng: random.Random) -> StepPlan:
        """The plan of a step of `parent_id`: a step id, the operator (and crossover's second
        parent) and the seed of the failures shown, drawn from the run's RNG on the loop's
        thread."""
        ctx = self.ctx
        operator = self.policy.choose(rng, lambda: operator_stats(
            ctx.store, ctx.ledger, ctx.run_id, ctx.config.benchmark.validation_split))
        second = None
        if operator == "crossover":
            second = second_parent(views, parent_id, rng)
            if second is None:  # nothing to cross with yet: the step is a self-edit
                operator = "self_edit"
        return StepPlan.new(parent_id, operator, second, evidence_seed=rng.getrandbits(32))

    def run(self, plan: StepPlan) -> StepOutcome:
        """Run the planned operator on a worker; the child records the step's seconds."""
        started = time.monotonic()
        outcome = OPERATORS[plan.operator](self.ctx, plan)
        self.ctx.store.set_step_seconds(outcome.node_id, round(time.monotonic() - started, 3))
        return outcome


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

"""One self-improvement step as a record, from the plan to the child it leaves.

The loop draws a `StepPlan` on its own thread when the selector asks for a child: a step id,
the parent, the operator and crossover's second parent. The plan travels through the
scheduler to the operator on a worker; the operator books every model call of the step
under the step id (the ledger's `step_id`: the diagnosis, the implementation, a mutation)
and gives the child's node the same id, so what a child cost is a grouping by step id
(report/costs.py, operators/stats.py). The operator answers with a `StepOutcome`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


def new_step_id() -> str:
    """A run-unique step id (random: drawing it must not move the selection RNG)."""
    return f"step-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class StepPlan:
    """What one step will do, decided on the loop's thread (plain data: it may travel)."""

    step_id: str
    parent_id: int
    operator: str = "self_edit"
    second_parent_id: int | None = None
    """Crossover's second parent (None for the other operators)."""
    evidence_seed: int | None = None
    """Draws which of the parent's failed evaluations the model is shown (drawn from the
    run's RNG with the plan, so a parent expanded again sees other failures, as DGM draws a
    failed task per attempt; None: the most recent ones)."""

    @classmethod
    def new(cls, parent_id: int, operator: str = "self_edit",
            second_parent_id: int | None = None, evidence_seed: int | None = None
            ) -> StepPlan:
        """A plan with a fresh step id."""
        return cls(new_step_id(), parent_id, operator, second_parent_id, evidence_seed)


@dataclass(frozen=True)
class StepOutcome:
    """What a step left: the child's node, whatever its status (failed, invalid, pending)."""

    node_id: int
    copy_of: int | None = None
    """The node whose agent the child turned out to be (the same tree): a copy is recorded
    but needs no evaluation of its own (set by the birth path, operators/child.py)."""

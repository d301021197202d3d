"""`self_edit`: today's step (diagnose, then the parent implements the change on its own
source), wrapped so that the node records its operator."""

from __future__ import annotations

from agentforge.evolve.context import RunContext
from agentforge.evolve.steps import improve_step

NAME = "self_edit"


def self_edit(ctx: RunContext, parent_id: int, second_parent_id: int | None = None) -> int:
    """One self-improvement step of `parent_id`; return the child's node id."""
    node_id = improve_step(ctx, parent_id)
    ctx.store.set_node_operator(node_id, NAME)
    return node_id

"""`crossover`: the second parent's change since the common ancestor applied onto the first
parent with git's three-way merge; a conflict makes an invalid node that says where."""

from __future__ import annotations

from agentforge.evolve.context import RunContext
from agentforge.evolve.operators.child import add_child, failed_child
from agentforge.store.errors import MergeConflict

NAME = "crossover"


def crossover(ctx: RunContext, parent_id: int, second_parent_id: int | None = None) -> int:
    """A child of `parent_id` carrying `second_parent_id`'s changes; return its node id."""
    if second_parent_id is None:
        return failed_child(ctx, NAME, parent_id, "crossover needs a second parent: the "
                            "policy found no other scored node")
    first, second = ctx.store.get_node(parent_id), ctx.store.get_node(second_parent_id)
    summary = f"crossover of node {parent_id} with node {second_parent_id}"
    try:
        commit = ctx.repo.merge_child(first.commit, second.commit, message=summary)
    except MergeConflict as exc:
        return add_child(ctx, NAME, parent_id, commit=None, summary=summary,
                         second_parent_id=second_parent_id,
                         invalid=f"crossover conflict: {exc}")
    return add_child(ctx, NAME, parent_id, commit=commit, summary=summary,
                     second_parent_id=second_parent_id)

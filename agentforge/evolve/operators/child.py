"""What every operator does with its result: a node that records how it was made, validated
the same way whatever made it."""

from __future__ import annotations

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.validation.node import validate_node
from agentforge.store.tables import NodeStatus


def add_child(ctx: RunContext, operator: str, parent_id: int, *, commit: str | None,
              summary: str, proposal: dict | None = None,
              second_parent_id: int | None = None, invalid: str | None = None) -> int:
    """Add the child (pending, or invalid with `invalid` as the reason) and validate it."""
    store = ctx.store
    status = NodeStatus.invalid if invalid else NodeStatus.pending
    node = store.add_node(ctx.run_id, parent_id=parent_id, commit=commit, status=status,
                          reason=invalid, proposal={"summary": summary, **(proposal or {})})
    store.set_node_operator(node.id, operator, second_parent_id=second_parent_id)
    store.add_event(ctx.run_id, "child", f"node {node.id} from {parent_id} by {operator}: "
                    f"{summary}", node_id=node.id,
                    data={"operator": operator, "second_parent_id": second_parent_id})
    if invalid is None:
        if commit is not None and ctx.repo.tree_of(commit) == ctx.repo.tree_of(
                store.get_node(parent_id).commit):
            store.update_node(node.id, status=NodeStatus.invalid,
                              reason=f"no diff: {operator} changed nothing")
            return node.id
        validate_node(ctx, node.id)
    return node.id


def failed_child(ctx: RunContext, operator: str, parent_id: int, reason: str,
                 proposal: dict | None = None, second_parent_id: int | None = None) -> int:
    """A step that produced no agent (the model's reply unusable): a failed node."""
    node = ctx.store.add_node(ctx.run_id, parent_id=parent_id, status=NodeStatus.failed,
                              reason=reason[:2000], proposal=proposal)
    ctx.store.set_node_operator(node.id, operator, second_parent_id=second_parent_id)
    ctx.store.add_event(ctx.run_id, "failed", reason[:300], node_id=node.id,
                        data={"operator": operator})
    return node.id

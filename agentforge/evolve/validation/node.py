"""A child's validation as the run records it: `evaluating` or `invalid: <why>`, and the
deleted-tests warning."""

from __future__ import annotations

from agentforge.evolve.loop.context import RunContext, agent_code, agent_dir
from agentforge.evolve.rundir.diskspace import raise_if_host_disk_full
from agentforge.evolve.validation.suite import shrunken_test_suite
from agentforge.evolve.workplaces.work import ValidateWork
from agentforge.store.tables import NodeStatus


def validate_node(ctx: RunContext, node_id: int) -> None:
    """Run the child's own checks; mark it evaluating (valid) or invalid with the reason."""
    try:
        reason = ctx.workplace().validate(
            ValidateWork(list(ctx.config.improve.own_tests), ctx.config.improve.validate_timeout,
                         {"agentforge.run": ctx.run_id}), agent_code(ctx, node_id))
    except Exception as exc:  # our side broke (Docker), not the child: the step failed
        raise_if_host_disk_full(exc)  # stays pending: a resume validates it again
        ctx.store.update_node(node_id, status=NodeStatus.failed,
                              reason=f"validation could not run: {type(exc).__name__}: {exc}")
        return
    if reason:
        ctx.store.update_node(node_id, status=NodeStatus.invalid, reason=reason)
    else:
        ctx.store.update_node(node_id, status=NodeStatus.evaluating)
    ctx.store.add_event(ctx.run_id, "validated", reason or "valid", node_id=node_id)
    warn_if_tests_shrank(ctx, node_id)


def warn_if_tests_shrank(ctx: RunContext, node_id: int) -> None:
    """A `warning` event when the child deleted tests or defines fewer than its parent."""
    parent_id = ctx.store.get_node(node_id).parent_id
    if parent_id is None:
        return
    warning = shrunken_test_suite(agent_dir(ctx, parent_id), agent_dir(ctx, node_id))
    if warning:
        ctx.store.add_event(ctx.run_id, "warning", f"node {node_id}: {warning}",
                            node_id=node_id, data={"kind": "tests_shrunk", "detail": warning})

"""The one birth path: every operator's step ends here, in a node that records the step that
made it (step id, operator, second parent) from the moment it is written and is validated
the same way whatever made it, or in a failed node when the step produced no agent.

A child whose tree equals a node the archive already holds (not only its parent's: any
validated node, an identical sibling of the same proposal included) becomes a copy of it:
no validation and no evaluation of its own, its original's evaluations reused, still an
expansion of its parent; the step's model calls stay booked under its step id.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.rundir.diskspace import raise_if_host_disk_full
from agentforge.evolve.step import StepOutcome, StepPlan
from agentforge.evolve.validation.suite import shrunken_test_suite
from agentforge.evolve.workplaces.work import ValidateWork
from agentforge.store.records import VALIDATED, NodeStatus

_COPIES = threading.Lock()
"""Steps end on several worker threads: two identical siblings must not copy each other."""


def add_child(ctx: RunContext, plan: StepPlan, *, commit: str | None, summary: str,
              proposal: dict | None = None, invalid: str | None = None,
              kept: Path | None = None, data: dict | None = None) -> StepOutcome:
    """Add the child (pending, or invalid with `invalid` as the reason) and settle it
    (validated, or a copy of an agent the archive holds); `kept` is a folder of the step's
    files (the implementation's trajectory), moved to the node's `improve/`; `data` goes
    into the `child` event."""
    store = ctx.store
    status = NodeStatus.invalid if invalid else NodeStatus.pending
    node = store.add_node(ctx.run_id, parent_id=plan.parent_id, commit=commit, status=status,
                          reason=invalid, proposal={"summary": summary, **(proposal or {})},
                          operator=plan.operator, second_parent_id=plan.second_parent_id,
                          step_id=plan.step_id)
    if kept is not None and kept.exists():
        target = ctx.rundir.node_dir(node.id) / "improve"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(kept, target)
    store.add_event(ctx.run_id, "child", f"node {node.id} from {plan.parent_id} by "
                    f"{plan.operator}: {summary}", node_id=node.id,
                    data={"operator": plan.operator, "second_parent_id": plan.second_parent_id,
                          "step_id": plan.step_id, **(data or {})})
    if invalid is None:
        if commit is not None and ctx.repo.tree_of(commit) == ctx.repo.tree_of(
                store.get_node(plan.parent_id).commit):
            store.update_node(node.id, status=NodeStatus.invalid,
                              reason=f"no diff: {plan.operator} changed nothing")
            return StepOutcome(node.id)
        return StepOutcome(node.id, copy_of=settle_child(ctx, node.id))
    return StepOutcome(node.id)


def settle_child(ctx: RunContext, node_id: int) -> int | None:
    """Validate a pending child, unless it is an agent the archive holds: then it becomes a
    copy, and the node it copies is returned. (A resume settles the children a kill left
    pending the same way.)"""
    original = mark_if_copy(ctx, node_id)
    if original is None:
        validate_node(ctx, node_id)
        if ctx.store.get_node(node_id).status == NodeStatus.evaluating:
            original = mark_if_copy(ctx, node_id)  # an identical sibling validated meanwhile
    return original


def mark_if_copy(ctx: RunContext, node_id: int) -> int | None:
    """Make the node a copy of the earliest validated node with the same tree that is no
    copy itself (None: the agent is new), with a `copy` event."""
    store = ctx.store
    with _COPIES:
        node = store.get_node(node_id)
        if node.commit is None:
            return None
        others = [n for n in store.list_nodes(ctx.run_id) if n.id != node_id and n.commit
                  and n.copy_of is None and n.status in VALIDATED]
        trees = ctx.repo.trees_of([node.commit, *(n.commit for n in others)])
        original = next((n.id for n in others if trees[n.commit] == trees[node.commit]), None)
        if original is None:
            return None
        store.mark_copy(node_id, original)
    store.add_event(ctx.run_id, "copy", f"node {node_id} is node {original}'s agent (the same "
                    f"tree): it reuses node {original}'s evaluations", node_id=node_id,
                    data={"copy_of": original})
    return original


def failed_child(ctx: RunContext, plan: StepPlan, reason: str,
                 proposal: dict | None = None) -> StepOutcome:
    """A step that produced no agent (the model's reply unusable, the step crashed): a
    failed node with the reason."""
    node = ctx.store.add_node(ctx.run_id, parent_id=plan.parent_id, status=NodeStatus.failed,
                              reason=reason[:2000], proposal=proposal, operator=plan.operator,
                              second_parent_id=plan.second_parent_id, step_id=plan.step_id)
    ctx.store.add_event(ctx.run_id, "failed", reason[:300], node_id=node.id,
                        data={"operator": plan.operator, "step_id": plan.step_id})
    return StepOutcome(node.id)


def validate_node(ctx: RunContext, node_id: int) -> None:
    """Run the child's own checks; mark it evaluating (valid) or invalid with the reason."""
    try:
        reason = ctx.workplace().validate(
            ValidateWork(list(ctx.config.improve.own_tests), ctx.config.improve.validate_timeout,
                         {"agentforge.run": ctx.run_id}), ctx.agent_code(node_id))
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
    """A `warning` event when the child's tests shrank against its parent's (deleted files,
    fewer tests or assertions) or its test harness changed (validation/suite.py)."""
    parent_id = ctx.store.get_node(node_id).parent_id
    if parent_id is None:
        return
    warning = shrunken_test_suite(ctx.agent_dir(parent_id), ctx.agent_dir(node_id))
    if warning:
        ctx.store.add_event(ctx.run_id, "warning", f"node {node_id}: {warning}",
                            node_id=node_id, data={"kind": "tests_shrunk", "detail": warning})

"""The archive's invariants, checked: what a resume, `status` and the kill -9 test rely on."""

from __future__ import annotations

from collections import Counter

from agentforge.store.protocol import Store
from agentforge.store.records import NOT_RUNNABLE, VALIDATED
from agentforge.store.repo import AgentRepo

_NEEDS_COMMIT = VALIDATED
_NEVER_PARENTS = NOT_RUNNABLE


def archive_problems(store: Store, run_id: str, repo: AgentRepo | None = None) -> list[str]:
    """Every broken invariant of a run's archive, one line each (empty: consistent)."""
    problems: list[str] = []
    nodes = {node.id: node for node in store.list_nodes(run_id)}
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        if node.parent_id is not None and parent is None:
            problems.append(f"node {node.id}: parent {node.parent_id} is not in run {run_id}")
        if parent is not None and parent.status in _NEVER_PARENTS:
            problems.append(f"node {node.id}: its parent {parent.id} is {parent.status.value}")
        if node.status in _NEVER_PARENTS and not node.reason:
            problems.append(f"node {node.id}: {node.status.value} without a reason")
        if node.commit is None:
            if node.status in _NEEDS_COMMIT:
                problems.append(f"node {node.id}: {node.status.value} but has no commit")
            continue
        if repo is None:
            continue
        if not repo.has_commit(node.commit):
            problems.append(f"node {node.id}: commit {node.commit[:12]} is not in the repository")
            continue
        if parent is not None and parent.commit and repo.parent_of(node.commit) != parent.commit:
            problems.append(
                f"node {node.id}: commit {node.commit[:12]} does not sit on its parent's commit"
            )
    evaluations = store.list_evaluations(run_id)
    for evaluation in evaluations:
        if evaluation.node_id not in nodes:
            problems.append(f"evaluation {evaluation.id}: node {evaluation.node_id} is not in run")
        if evaluation.finished and evaluation.resolved is None:
            problems.append(f"evaluation {evaluation.id}: finished without a result")
    keys = Counter((e.node_id, e.task_id, e.split, e.attempt) for e in evaluations if e.finished)
    problems.extend(
        f"node {key[0]}: task {key[1]!r} ({key[2]}, attempt {key[3]}) finished {n} times"
        for key, n in keys.items()
        if n > 1
    )
    return problems

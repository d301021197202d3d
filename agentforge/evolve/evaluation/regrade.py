"""Differential re-grading of the finalists: once their held-out evaluations are done, each
finished one is graded a second time by bench/plain_grading.py (fresh sandbox, plain git and
toolchain commands, no runner code shared with the first grader), through the run's
Workplace. Each second verdict is a `regraded` event; a verdict that differs from the
first is a `grading_disagreement` event on the node, which the read model carries
(`NodeRow.grading_disagreements`) to `status`, the web view and report.json, and such a node
is never the run's best (finalize.py, rundir/agent_ref.py, selection's `best_lineage`).
A resumed finalization grades only what has no second verdict yet (one that could not run
is tried again).
"""

from __future__ import annotations

import json
from concurrent.futures import as_completed

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.workplaces.work import RegradeWork
from agentforge.progress import long_step
from agentforge.store.protocol import Store
from agentforge.store.records import GRADING_DISAGREEMENT, EvaluationRecord

REGRADED = "regraded"
"""Event kind: one held-out evaluation graded a second time."""


def regrade_finalists(ctx: RunContext, node_ids: list[int]) -> None:
    """Grade every finished held-out evaluation of `node_ids` a second time; record each
    verdict and each disagreement."""
    store, split = ctx.store, ctx.config.benchmark.held_out_split
    # A second grading that could not run (Docker broke, a worker was lost) is tried again.
    done = {data.get("evaluation_id") for event in store.list_events(ctx.run_id)
            if event.kind == REGRADED and (data := _data(event)).get("second") is not None}
    todo = [evaluation for evaluation in store.list_evaluations(ctx.run_id, finished=True,
                                                                split=split)
            if evaluation.node_id in node_ids and evaluation.id not in done]
    if not todo:
        return
    with long_step(f"re-grading {len(todo)} held-out evaluations of nodes {node_ids} the "
                   f"plain way") as tell, \
            LocalExecutor(ctx.config.evaluation.workers, name="agentforge-regrade") as pool:
        futures = {pool.submit(_regrade, ctx, evaluation): evaluation for evaluation in todo}
        for count, future in enumerate(as_completed(futures), 1):
            evaluation = futures[future]
            _record(store, ctx.run_id, evaluation, *future.result())
            tell(f"re-grading: {count}/{len(todo)} done")


def _regrade(ctx: RunContext, evaluation: EvaluationRecord) -> tuple[bool | None, str]:
    artefacts = ctx.store.task_result(evaluation.id)
    work = RegradeWork(ctx.task(evaluation.task_id), artefacts.patch if artefacts else "",
                       {"agentforge.run": ctx.run_id})
    try:
        verdict = ctx.workplace().regrade(work)
    except Exception as exc:  # our side broke (Docker, a lost worker): no second verdict
        return None, f"the second grading could not run: {type(exc).__name__}: {exc}"[:500]
    return verdict.resolved, verdict.reason


def _record(store: Store, run_id: str, evaluation: EvaluationRecord, second: bool | None,
            reason: str) -> None:
    first = bool(evaluation.resolved)
    data = {"evaluation_id": evaluation.id, "task_id": evaluation.task_id, "first": first,
            "second": second, "reason": reason}
    store.add_event(run_id, REGRADED, f"node {evaluation.node_id}, {evaluation.task_id}: "
                    f"{_word(second)} the second time ({reason})",
                    node_id=evaluation.node_id, data=data)
    if second is not None and second != first:
        store.add_event(run_id, GRADING_DISAGREEMENT,
                        f"{evaluation.task_id}: {_word(first)} by the grader, {_word(second)} "
                        f"by the plain re-grading ({reason})",
                        node_id=evaluation.node_id, data=data)


def _word(resolved: bool | None) -> str:
    return "not graded" if resolved is None else "resolved" if resolved else "unresolved"


def _data(event) -> dict:
    try:
        data = json.loads(event.data_json or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

"""Differential re-grading of the finalists: as each of their held-out evaluations finishes,
it is graded a second time by bench/plain_grading.py (fresh sandbox, plain git and
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
from concurrent.futures import Future, as_completed

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.workplaces.work import RegradeWork
from agentforge.store.protocol import Store
from agentforge.store.records import GRADING_DISAGREEMENT, EvaluationRecord

REGRADED = "regraded"
"""Event kind: one held-out evaluation graded a second time."""


class Regrading:
    """The second gradings of the finalists' held-out evaluations on `pool` (the one their
    evaluations run on, so `evaluation.workers` still bounds the sandboxes): each starts as
    soon as its evaluation has finished, beside the finalists' other evaluations, and is
    recorded as it ends."""

    def __init__(self, ctx: RunContext, node_ids: list[int], pool: LocalExecutor):
        self.ctx, self.node_ids, self.pool = ctx, set(node_ids), pool
        # A second grading that could not run (Docker broke, a worker was lost) is tried again.
        self.started = {data.get("evaluation_id") for event in ctx.store.list_events(ctx.run_id)
                        if event.kind == REGRADED
                        and (data := _data(event)).get("second") is not None}
        self.futures: list[Future] = []

    def start_due(self) -> None:
        """Start the second grading of each finished held-out evaluation of the finalists
        that has none yet."""
        ctx = self.ctx
        for evaluation in ctx.store.list_evaluations(
                ctx.run_id, finished=True, split=ctx.config.benchmark.held_out_split):
            if evaluation.node_id in self.node_ids and evaluation.id not in self.started:
                self.started.add(evaluation.id)
                self.futures.append(self.pool.submit(_regrade_and_record, ctx, evaluation))

    def wait(self, tell) -> None:
        """Wait for every second grading started, saying how far they are."""
        for count, future in enumerate(as_completed(self.futures), 1):
            future.result()
            tell(f"re-grading the held-out evaluations the plain way: "
                 f"{count}/{len(self.futures)} done")


def _regrade_and_record(ctx: RunContext, evaluation: EvaluationRecord) -> None:
    _record(ctx.store, ctx.run_id, evaluation, *_regrade(ctx, evaluation))


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

"""The state of a run as plain data: what `agentforge status` prints and `--json` returns."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agentforge.evolve.report.costs import node_costs
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.selection.base import best_lineage
from agentforge.llm.ledger import Ledger
from agentforge.store.records import NodeRow, disputed

FINISHED_REASONS = ("exhausted", "iterations")
"""Stop reasons of a run that did what it was asked (status `finished`); any other reason
leaves it `stopped` (a resume continues it)."""
_STOP_WORDS = {
    "exhausted": "nothing left to do",
    "iterations": "iteration budget spent",
    "evaluations": "evaluation budget spent",
    "wall_time": "wall-time budget spent",
    "stopped": "Ctrl-C or SIGTERM",
    "aborted": "aborted by a second Ctrl-C",
}


def describe_end(status: str, stop_reason: str | None) -> str:
    """`finished (iteration budget spent)`, `stopped (Ctrl-C or SIGTERM)`: how `evolve` and
    `status` both say how a run ended."""
    if not stop_reason:
        return status
    return f"{status} ({_STOP_WORDS.get(stop_reason, stop_reason)})"


def run_status(run_dir: Path, *, evaluations: bool = False) -> dict:
    """Nodes with scores and status, the best node and its lineage, spend, work in flight."""
    rundir = RunDir(Path(run_dir))
    config = rundir.load_config()
    store = rundir.open_store()
    try:
        run_id = rundir.run_id(store)
        run = store.get_run(run_id)
        bench = config.benchmark
        rows = store.node_rows(run_id, bench.validation_split, bench.held_out_split)
        warnings: dict[int, list[str]] = {}
        for event in store.list_events(run_id):
            if event.kind == "warning" and event.node_id is not None:
                warnings.setdefault(event.node_id, []).append(event.message)
        best_id, lineage = best_lineage(rows, excluded=disputed(rows))
        spend = Ledger(store.engine).spend(run_id=run_id)
        unfinished = store.list_evaluations(run_id, finished=False)
        costs = node_costs(store.engine, run_id, rows)
        live = rundir.read_live() if run.status == "running" else {}
        alive = process_alive(live.get("pid"))
        if not alive:
            live = {}  # a killed process's last snapshot is not what is running now
        data = {
            "run_id": run_id, "run_dir": str(rundir.path), "status": run.status,
            "stop_reason": run.stop_reason, "iterations": run.iterations, "alive": alive,
            "nodes": [{
                "id": row.id, "parent_id": row.parent_id, "status": str(row.status.value),
                "reason": row.reason, "score": row.score, "evaluated_tasks": row.evaluated_tasks,
                "resolved_tasks": row.successes, "held_out_score": row.held_out_score,
                "held_out_tasks": row.held_out_tasks, "commit": row.commit,
                "summary": row.summary, "created_at": row.created_at.isoformat(),
                "cost_usd": round(costs[row.id].total_usd, 6), "copy_of": row.copy_of,
                **_node_origin(row),
                "warnings": warnings.get(row.id, []),
                "grading_disagreements": row.grading_disagreements,
            } for row in rows],
            "imported_from": json.loads(run.origin_json) if run.origin_json else None,
            "best_id": best_id, "best_lineage": lineage,
            "spend": {"tokens": spend.tokens, "usd": round(spend.cost_usd, 6),
                      "calls": spend.calls},
            "in_flight": {"improving": live.get("improving", []),
                          "evaluating": live.get("evaluating", []),
                          "unfinished_evaluations": [
                              {"node_id": e.node_id, "task_id": e.task_id, "split": e.split}
                              for e in unfinished]},
            "report": json.loads(rundir.report_file.read_text())
            if rundir.report_file.is_file() else None,
        }
        if evaluations:
            data["evaluations"] = [
                {"node_id": e.node_id, "task_id": e.task_id, "split": e.split,
                 "resolved": e.resolved, "reason": e.reason}
                for e in store.list_evaluations(run_id, finished=True)]
        return data
    finally:
        store.close()


def _node_origin(node: NodeRow) -> dict:
    """A node's foreign id (imported runs), where a seed came from, and the operator that made
    it with crossover's second parent (None otherwise, and for nodes of older runs)."""
    return {"external_id": node.external_id,
            "origin": json.loads(node.origin_json) if node.origin_json else None,
            "operator": node.operator, "second_parent_id": node.second_parent_id}


def process_alive(pid: int | None) -> bool:
    """Whether the process that wrote live.json still runs (on this machine)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

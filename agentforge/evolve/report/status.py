"""The state of a run as plain data: what `agentforge status` prints and `--json` returns."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agentforge.evolve.report.costs import node_costs
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.selection.base import best_lineage
from agentforge.llm.ledger import Ledger

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
        summaries = store.node_summaries(run_id, split=bench.validation_split)
        held = {s.id: s for s in store.node_summaries(run_id, split=bench.held_out_split)}
        nodes = store.list_nodes(run_id)
        proposals = {n.id: json.loads(n.proposal_json) if n.proposal_json else None
                     for n in nodes}
        foreign = {n.id: _node_origin(n) for n in nodes}
        warnings: dict[int, list[str]] = {}
        for event in store.list_events(run_id):
            if event.kind == "warning" and event.node_id is not None:
                warnings.setdefault(event.node_id, []).append(event.message)
        best_id, lineage = best_lineage(summaries)
        spend = Ledger(store.engine).spend(run_id=run_id)
        unfinished = store.list_evaluations(run_id, finished=False)
        costs = node_costs(store.engine, run_id, nodes)
        created = {n.id: n.created_at.isoformat() for n in nodes}
        live = rundir.read_live() if run.status == "running" else {}
        alive = process_alive(live.get("pid"))
        if not alive:
            live = {}  # a killed process's last snapshot is not what is running now
        data = {
            "run_id": run_id, "run_dir": str(rundir.path), "status": run.status,
            "stop_reason": run.stop_reason, "iterations": run.iterations, "alive": alive,
            "nodes": [{
                "id": s.id, "parent_id": s.parent_id, "status": str(s.status.value),
                "reason": s.reason, "score": s.score, "evaluated_tasks": s.evaluated_tasks,
                "resolved_tasks": s.successes, "held_out_score": held[s.id].score,
                "held_out_tasks": held[s.id].evaluated_tasks, "commit": s.commit,
                "summary": (proposals.get(s.id) or {}).get("summary"),
                "created_at": created[s.id], "cost_usd": round(costs[s.id].total_usd, 6),
                **foreign[s.id],
                "warnings": warnings.get(s.id, []),
            } for s in summaries],
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


def _node_origin(node) -> dict:
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

"""No evaluation spent twice: a child whose agent (tree) the archive already holds becomes a
copy of that node, reuses its evaluations, and still counts as its parent's expansion.

First a real run (Docker, the scripted model over HTTP): best-of-n expands the seed three
times with the same proposal, two steps at once, so identical siblings meet both ways (one
validated while the other was, one made after). Then the birth path's rule on a real
archive without Docker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.evaluation.job import EvaluationOutcome
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.run import EvolutionRun
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.operators.child import mark_if_copy
from agentforge.evolve.report.costs import node_costs
from agentforge.evolve.report.status import run_status
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.selection.base import can_be_parent, valid_children_counts
from agentforge.store.records import NodeStatus


@pytest.mark.slow
def test_a_copy_child_reuses_its_originals_evaluations(agent_image, tiny_suite, tmp_path):
    config = demo_config(tmp_path, tiny_suite, seed_solves=("py-tiny-add",))
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--quiet", "--config", str(config),
         "--run-dir", str(run_dir), "--set", "selection.name=best-of-n",
         "--set", "budget.max_iterations=3", "--set", "improve.workers=2",
         "--set", "finalize.top_k=3"],
        capture_output=True, text=True, timeout=2400, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-3000:]

    status = run_status(run_dir, evaluations=True)
    nodes = {n["id"]: n for n in status["nodes"]}
    seed = next(n for n in nodes.values() if n["parent_id"] is None)
    children = [n for n in nodes.values() if n["parent_id"] == seed["id"]]
    originals = [n for n in children if n["copy_of"] is None]
    copies = [n for n in children if n["copy_of"] is not None]
    assert len(children) == 3 and len(originals) == 1 and len(copies) == 2
    original = originals[0]
    assert {c["copy_of"] for c in copies} == {original["id"]}
    # Evaluated once, by the original; each copy shows the scores it reuses.
    evaluated = {e["node_id"] for e in status["evaluations"]}
    assert evaluated == {seed["id"], original["id"]}
    for copy in copies:
        assert copy["status"] == "evaluated"
        assert (copy["score"], copy["evaluated_tasks"], copy["held_out_score"]) == \
            (original["score"], original["evaluated_tasks"], original["held_out_score"])
    # Never a finalist twice: the report holds the seed and the original only.
    assert {r["id"] for r in status["report"]["finalists"]} == {seed["id"], original["id"]}

    rundir = RunDir(run_dir)
    store = rundir.open_store()
    try:
        events = [e for e in store.list_events(status["run_id"]) if e.kind == "copy"]
        assert sorted(e.node_id for e in events) == sorted(c["id"] for c in copies)
        summaries = store.node_summaries(status["run_id"])
        # Still expansions of their parent (dgm's valid children, hgm's tree), never parents.
        assert valid_children_counts(summaries)[seed["id"]] == 3
        assert [s.id for s in summaries if can_be_parent(s) and s.parent_id] == \
            [original["id"]]
        # The ledger books what each copy's step cost under its own node.
        costs = node_costs(store.engine, status["run_id"], store.node_rows(status["run_id"]))
        assert all(costs[c["id"]].improve_tokens > 0 for c in copies)
        assert all(costs[c["id"]].evaluate_tokens == 0 for c in copies)
    finally:
        store.close()
    shown = subprocess.run([sys.executable, "-m", "agentforge", "status", str(run_dir)],
                           capture_output=True, text=True, timeout=120)
    assert f"[copy of node {original['id']}: its evaluations]" in shown.stdout


def _finish(store, node_id: int, task_id: str, resolved: bool) -> None:
    evaluation = store.start_evaluation(node_id, task_id)
    store.finish_evaluation(evaluation.id, resolved=resolved)


def _child(run, parent_id: int, text: str, status=NodeStatus.evaluating) -> int:
    parent = run.store.get_node(parent_id)
    commit = run.repo.create_child_files(parent.commit, {"NOTES.md": text})
    return run.store.add_node(run.run_id, parent_id=parent_id, commit=commit,
                              status=status).id


def test_a_copy_is_of_the_earliest_validated_original_and_shares_its_fate(tiny_suite,
                                                                           tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite))
    with open_run(tmp_path / "run", config) as run:
        seed = run.store.list_nodes(run.run_id)[0].id
        pending = _child(run, seed, "same\n", status=NodeStatus.pending)
        original = _child(run, seed, "same\n")
        other = _child(run, seed, "other\n")
        # Made from another parent, still the same agent: a copy, of the validated original
        # (never of a node not yet validated, nor of a copy).
        again = _child(run, other, "same\n", status=NodeStatus.pending)
        assert run.repo.trees_of([run.store.get_node(again).commit]) != {}
        assert mark_if_copy(run, again) == original
        assert mark_if_copy(run, pending) == original
        assert mark_if_copy(run, other) is None
        node = run.store.get_node(again)
        assert (node.copy_of, node.status) == (original, NodeStatus.evaluated)
        (event,) = [e for e in run.store.list_events(run.run_id) if e.node_id == again]
        assert event.kind == "copy" and json.loads(event.data_json) == {"copy_of": original}

        # The original crashes on its first task: its copies are the same broken agent.
        loop = EvolutionRun(run)
        task = loop.order[0]
        _finish(run.store, original, task, False)
        job = EvaluationJob(node_id=original, task_id=task)
        loop.on_evaluation_done(job, EvaluationOutcome(None, False, "no trajectory",
                                                       crashed=True))
        statuses = {n.id: n.status for n in run.store.list_nodes(run.run_id)}
        assert statuses[original] == statuses[again] == statuses[pending] == \
            NodeStatus.invalid
        assert run.store.get_node(again).reason.startswith(f"node {original}'s agent: crash")

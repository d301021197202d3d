"""What the page reads beyond the summaries: text search, the compare matrix, each node's model
calls from the ledger, and the run's phase (a real process holding the run's lock)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from web_server import holding_the_lock

from agentforge.web.app import create_app
from agentforge.web.synthetic import CALLS, write_synthetic_run


def _rows(payload: dict) -> list[dict]:
    return [dict(zip(payload["fields"], row, strict=True)) for row in payload["rows"]]


def test_search_reads_the_whole_proposal_and_the_reason(client, hostile_run):
    nodes = _rows(client.get("/api/runs/hostile/nodes").json())
    # The diagnosis is not in the summaries: only the search finds it.
    assert "stops before running" not in json.dumps(nodes)
    found = client.get("/api/runs/hostile/search", params={"q": "STOPS before running"}).json()
    assert set(found["ids"]) == {n["id"] for n in nodes if n["parent_id"] is not None}
    invalid = client.get("/api/runs/hostile/search", params={"q": "own tests fail"}).json()["ids"]
    assert invalid and all(n["status"] == "invalid" for n in nodes if n["id"] in invalid)
    assert client.get("/api/runs/hostile/search", params={"q": "  "}).json()["ids"] == []
    hostile = client.get("/api/runs/hostile/search", params={"q": "<svg onload"}).json()["ids"]
    assert hostile_run.hostile_node in hostile


def test_the_matrix_holds_every_finished_evaluation_of_the_chosen_nodes(client, hostile_run):
    ids = hostile_run.node_ids[:4]
    matrix = client.get("/api/runs/hostile/matrix", params={"ids": ",".join(map(str, ids))}).json()
    assert matrix["ids"] == ids
    for node_id in ids:
        detail = client.get(f"/api/runs/hostile/nodes/{node_id}").json()
        expected = {(e["split"], e["task_id"], e["resolved"]) for e in detail["evaluations"]
                    if e["finished"]}
        assert {(r["split"], r["task_id"], r["resolved"]) for r in _rows(matrix)
                if r["node_id"] == node_id} == expected
    for bad in ("1,x", "", "99999"):
        answer = client.get("/api/runs/hostile/matrix", params={"ids": bad})
        assert answer.status_code == 404 and "error" in answer.json(), bad


def test_a_nodes_model_calls_are_those_of_its_trajectories(client, hostile_run):
    detail = client.get(f"/api/runs/hostile/nodes/{hostile_run.hostile_node}").json()
    calls = _rows(detail["model_calls"])
    improve = detail["model_calls"]["improve_task_id"]
    assert improve and improve.startswith("improve-")
    mine = [c for c in calls if c["task_id"] == improve]  # booked to the parent, shown here
    assert [(c["prompt_tokens"], c["latency_s"]) for c in mine] == [(p, s) for p, _, s, _ in CALLS]
    evaluated = {e["task_id"] for e in detail["evaluations"] if e["split"] == "validation"}
    for task in evaluated:
        assert [c["completion_tokens"] for c in calls if c["task_id"] == task] == [
            c for _, c, _, _ in CALLS]
    assert {c["task_id"] for c in calls} == evaluated | {improve}  # no diagnosis call
    starts = [c["started_at"] for c in calls if c["task_id"] == improve]
    assert starts == sorted(starts) and all(e["started_at"] for e in detail["evaluations"])


@pytest.fixture
def run_dir(tmp_path):
    run = write_synthetic_run(tmp_path / "runs" / "phases", 6, files_for=0, in_flight=0)
    return run.path


def _summary(run_dir) -> dict:
    with TestClient(create_app([run_dir]), base_url="http://127.0.0.1") as client:
        return client.get("/api/runs/phases").json()


def test_a_run_whose_process_holds_the_lock_is_starting_not_gone(run_dir):
    summary = _summary(run_dir)  # status running, no live.json, no lock: nobody behind it
    assert (summary["status"], summary["phase"], summary["alive"]) == ("running", "gone", False)
    process = holding_the_lock(run_dir)
    try:
        summary = _summary(run_dir)
        assert (summary["phase"], summary["alive"]) == ("starting", True)
    finally:
        process.kill()
        process.wait()
    assert _summary(run_dir)["phase"] == "gone"  # the kernel dropped its lock with it


def test_finalize_in_flight_shows_its_finalists_and_held_out_work(run_dir):
    from agentforge.store import SqlStore

    store = SqlStore.open(run_dir / "archive.sqlite")
    run_id = store.list_runs()[0].id
    first, second = [n.id for n in store.list_nodes(run_id)][:2]
    store.update_run(run_id, status="finished")
    store.start_evaluation(first, "py-held-03", split="held_out")  # started, not finished
    store.close()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:  # what finalize writes while it re-scores (its own pid: alive)
        (run_dir / "live.json").write_text(json.dumps({
            "running": False, "pid": sleeper.pid, "updated_at": time.time(),
            "phase": "finalize", "finalists": [first, second], "held_out_tasks": 4}))
        summary = _summary(run_dir)
        assert (summary["phase"], summary["alive"]) == ("finalizing", True)
        assert summary["finalizing"]["finalists"] == [first, second]
        assert summary["finalizing"]["total"] == 8
        assert summary["in_flight"]["evaluating"] == [
            {"node_id": first, "task_id": "py-held-03", "split": "held_out"}]
    finally:
        sleeper.kill()
        sleeper.wait()
    summary = _summary(run_dir)  # its process is gone: the run is just finished
    assert (summary["phase"], summary["status"], summary["in_flight"]["evaluating"]) == (
        None, "finished", [])

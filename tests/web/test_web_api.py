"""The JSON routes on a generated archive: runs, summary, nodes, detail, diff, change feed."""

from __future__ import annotations

import time

from agentforge.web.archive import NODE_FIELDS
from agentforge.web.synthetic import CALLS, HOSTILE


def _nodes(client, name="hostile"):
    body = client.get(f"/api/runs/{name}/nodes").json()
    assert body["fields"] == list(NODE_FIELDS)
    return {row[0]: dict(zip(body["fields"], row, strict=True)) for row in body["rows"]}


def test_runs_lists_the_run_folder(client, hostile_run):
    runs = client.get("/api/runs").json()
    assert [r["name"] for r in runs] == ["hostile"]
    assert runs[0]["run_id"] == hostile_run.run_id


def test_node_summaries_are_compact_and_cover_every_node(client, hostile_run):
    nodes = _nodes(client)
    assert sorted(nodes) == hostile_run.node_ids
    statuses = {n["status"] for n in nodes.values()}
    assert {"evaluated", "invalid", "pending", "evaluating"} <= statuses
    invalid = next(n for n in nodes.values() if n["status"] == "invalid")
    assert invalid["reason"].startswith("invalid:") and invalid["score"] is None
    scored = next(n for n in nodes.values() if n["tasks"])
    assert 0 <= scored["score"] <= 1 and scored["resolved"] <= scored["tasks"]
    seed = hostile_run.node_ids[0]
    assert nodes[seed]["operator"] is None  # the seed was made by no operator
    assert {n["operator"] for i, n in nodes.items() if i != seed} == {"self_edit",
                                                                     "prompt_mutation"}
    assert all(n["created_at"] for n in nodes.values())
    # The summaries carry no code, no diffs and no full texts: those come on click.
    raw = client.get("/api/runs/hostile/nodes").text
    assert "diff --git" not in raw and "The agent stops before" not in raw
    assert all(len(n["summary"] or "") <= 160 for n in nodes.values())


def test_summary_has_best_lineage_spend_and_work_in_flight(client, hostile_run):
    summary = client.get("/api/runs/hostile").json()
    nodes = _nodes(client)
    lineage = summary["best_lineage"]
    assert lineage[0] == hostile_run.node_ids[0] and lineage[-1] == summary["best_id"]
    for parent, child in zip(lineage, lineage[1:], strict=False):
        assert nodes[child]["parent_id"] == parent
    best = nodes[summary["best_id"]]["score"]
    assert all((n["score"] or 0) <= best for n in nodes.values()
               if n["status"] in ("evaluated", "evaluating"))
    assert summary["spend"]["calls"] > 0 and summary["spend"]["usd"] > 0
    assert summary["spend"]["over_time"][-1][1] == summary["spend"]["usd"]
    assert summary["in_flight"]["unfinished_evaluations"]


def test_node_detail_has_proposal_diff_tasks_files_and_cost(client, hostile_run):
    node = client.get(f"/api/runs/hostile/nodes/{hostile_run.hostile_node}").json()
    assert HOSTILE in node["proposal"]["diagnosis"]
    assert node["warnings"] == [f"the change deletes tests: {HOSTILE}"]  # validation's warning
    assert node["diff"].startswith("diff --git") and "+Rule 1: run the tests." in node["diff"]
    tasks = {t["task_id"]: t for t in node["evaluations"]}
    assert hostile_run.hostile_task in tasks
    row = tasks["py-task-00"]
    assert row["finished"] and row["reason"] and row["test_output"]
    trajectory = [f for f in row["files"] if f.endswith("trajectory.json")]
    assert trajectory and trajectory[0].startswith(f"nodes/{hostile_run.hostile_node}/")
    assert any(f.endswith("test_output.txt") for f in row["files"])
    # Its parent's diagnosis call and the three calls of its implementation, booked to it.
    assert node["cost"]["improve_tokens"] == 3400 + sum(p + c for p, c, *_ in CALLS)
    assert node["cost"]["evaluate_usd"] > 0


def test_unknown_run_and_node_are_404_without_traceback(client):
    for url in ("/api/runs/nope", "/api/runs/hostile/nodes/99999",
                "/api/runs/hostile/diff?a=1&b=99999"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert "Traceback" not in answer.text and "error" in answer.json()
    assert client.get("/api/runs/hostile/nodes/abc").status_code == 422


def test_diff_between_two_nodes(client, hostile_run):
    first, last = hostile_run.node_ids[0], hostile_run.node_ids[5]
    diff = client.get(f"/api/runs/hostile/diff?a={first}&b={last}").json()["diff"]
    assert "coding_agent/prompt.txt" in diff and "+Rule" in diff


def test_change_feed_answers_304_until_the_archive_changes(tmp_path):
    from fastapi.testclient import TestClient

    from agentforge.store import SqlStore
    from agentforge.web.app import create_app
    from agentforge.web.synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "growing", 6, files_for=0)
    with TestClient(create_app([run.path]), base_url="http://127.0.0.1") as client:
        first = client.get("/api/runs/growing/version")
        etag = first.headers["etag"]
        again = client.get("/api/runs/growing/version", headers={"If-None-Match": etag})
        assert again.status_code == 304 and not again.content
        nodes_etag = client.get("/api/runs/growing/nodes").headers["etag"]
        assert client.get("/api/runs/growing/nodes",
                          headers={"If-None-Match": nodes_etag}).status_code == 304
        store = SqlStore.open(run.path / "archive.sqlite")
        try:
            added = store.add_node(run.run_id, parent_id=run.node_ids[0])
        finally:
            store.close()
        changed = client.get("/api/runs/growing/version", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        # Rebuilds are rate-limited to twice their own cost: the node comes at once or soon.
        deadline = time.monotonic() + 20
        while added.id not in _nodes(client, "growing"):
            assert time.monotonic() < deadline, "the new node never reached the summaries"
            time.sleep(0.1)


def test_many_requests_at_once_over_real_http(hostile_run):
    """Uvicorn answers sync routes from a thread pool: the read-only engine serves them all."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from web_server import LiveServer

    server = LiveServer([hostile_run.path.parent])
    try:
        urls = [f"{server.url}api/runs/hostile/nodes/{node_id}"
                for node_id in hostile_run.node_ids] * 2
        urls += [f"{server.url}api/runs/hostile", f"{server.url}api/runs/hostile/nodes"] * 10
        with httpx.Client(timeout=120) as client, ThreadPoolExecutor(24) as pool:
            codes = list(pool.map(lambda url: client.get(url).status_code, urls))
        assert codes == [200] * len(urls)
    finally:
        server.stop()

"""End to end from the seed, real Docker and the scripted model over real HTTP.

The scripted diagnosis proposes a checklist line for the agent's system prompt; the seed
implements it with a str_replace tool call on its own config.toml; the scripted model emits
task fixes only when the checklist is in the system prompt. So the child must solve more
tasks than its parent, and the second iteration (greedy picks the child, which already has
the line) must end as an `invalid: no diff` node that is never a parent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from loop_fixtures import demo_config
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.examples.offline_demo import MARKER
from agentforge.store.repo import AgentRepo

pytestmark = pytest.mark.slow


def test_a_child_that_added_a_capability_to_itself_solves_more_tasks(
        agent_image, tiny_suite, tmp_path):
    config = demo_config(tmp_path, tiny_suite, seed_solves=("py-tiny-add",))
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--config", str(config), "--run-dir",
         str(run_dir), "--set", "budget.max_iterations=2"],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "archive" in done.stderr and "best" in done.stderr  # live progress lines

    shown = CliRunner().invoke(app, ["status", str(run_dir), "--json", "--evaluations"])
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)
    nodes = {n["id"]: n for n in status["nodes"]}
    seed = next(n for n in nodes.values() if n["parent_id"] is None)
    child = next(n for n in nodes.values() if n["parent_id"] == seed["id"])
    assert (seed["status"], child["status"]) == ("evaluated", "evaluated")
    assert (seed["evaluated_tasks"], child["evaluated_tasks"]) == (3, 3)
    assert (seed["resolved_tasks"], child["resolved_tasks"]) == (1, 3)
    assert child["score"] > seed["score"]
    assert status["best_id"] == child["id"]
    assert status["best_lineage"] == [seed["id"], child["id"]]
    assert {"tokens", "usd"} <= set(status["spend"]) and status["spend"]["tokens"] > 0

    # The second step chose the child (greedy), whose prompt already has the line: no diff.
    grandchild = next(n for n in nodes.values() if n["parent_id"] == child["id"])
    assert grandchild["status"] == "invalid" and grandchild["reason"].startswith("no diff")
    assert len(nodes) == 3

    # The child's patch is the agent's own edit of its data file, made through a tool call.
    repo = AgentRepo(run_dir / "agents.git")
    patch = repo.patch(child["commit"])
    assert "coding_agent/config.toml" in patch and f"+{MARKER}" in patch
    assert MARKER not in repo.patch(seed["commit"])
    improve = json.loads(next((run_dir / "nodes" / str(child["id"]) / "improve")
                              .rglob("trajectory.json")).read_text())
    assert any(call.get("name") == "str_replace" for call in improve["tool_calls"])

    # Every evaluation belongs to a node; the held-out re-scoring kept both scores.
    evaluations = status["evaluations"]
    assert {e["node_id"] for e in evaluations} <= set(nodes)
    assert all(e["node_id"] != grandchild["id"] for e in evaluations)
    report = json.loads((run_dir / "report.json").read_text())
    rows = {r["id"]: r for r in report["finalists"]}
    assert rows[child["id"]]["held_out_score"] == 1.0
    assert rows[seed["id"]]["held_out_score"] == 0.0
    assert report["best_id"] == child["id"]
    assert rows[child["id"]]["why"] == "rank 1: cautious score 0.637 (3/3 validation tasks)"

"""The web view on a real run: the offline demo (tiny suite, scripted model, real Docker),
run once per session, read through the API and shown in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agentforge.examples.offline_demo import MARKER
from agentforge.web.app import create_app

pytestmark = [pytest.mark.slow, pytest.mark.docker]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))


@pytest.fixture(scope="session")
def demo_run(agent_image, tmp_path_factory) -> Path:
    """The demo's two iterations from the seed (a better child, then an `invalid` one)."""
    from loop_fixtures import demo_config, write_tiny_suite

    root = tmp_path_factory.mktemp("demo")
    suite = write_tiny_suite(root / "suite", ["py-tiny-add", "py-tiny-greet", "py-tiny-double"],
                             ["py-tiny-shout"])
    config = demo_config(root, suite, seed_solves=("py-tiny-add",))
    run_dir = root / "runs" / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--config", str(config), "--run-dir",
         str(run_dir), "--set", "budget.max_iterations=2"],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"agentforge web {run_dir}" in done.stderr
    return run_dir


@pytest.fixture(scope="session")
def demo_client(demo_run):
    with TestClient(create_app([demo_run.parent]), base_url="http://127.0.0.1") as client:
        yield client


def _status(run_dir: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "agentforge", "status", str(run_dir), "--json"],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_the_api_agrees_with_status_and_shows_the_childs_own_edit(demo_run, demo_client):
    status = _status(demo_run)
    body = demo_client.get("/api/runs/demo/nodes").json()
    nodes = {row[0]: dict(zip(body["fields"], row, strict=True)) for row in body["rows"]}
    assert sorted(nodes) == sorted(n["id"] for n in status["nodes"])
    for expected in status["nodes"]:
        node = nodes[expected["id"]]
        assert (node["status"], node["tasks"], node["resolved"]) == (
            expected["status"], expected["evaluated_tasks"], expected["resolved_tasks"])
        assert node["held_out_tasks"] == expected["held_out_tasks"]
        assert node["created_at"] == expected["created_at"]
    summary = demo_client.get("/api/runs/demo").json()
    assert summary["best_lineage"] == status["best_lineage"]
    assert summary["status"] == "finished" and summary["report"]["best_id"] == status["best_id"]

    child = demo_client.get(f"/api/runs/demo/nodes/{status['best_id']}").json()
    assert "coding_agent/config.toml" in child["diff"] and f"+{MARKER}" in child["diff"]
    assert child["proposal"]["summary"] and child["cost"]["improve_tokens"] > 0
    assert child["cost"]["evaluate_tokens"] > 0
    improve = next(f for f in child["files"] if "/improve/" in f and f.endswith("trajectory.json"))
    trajectory = demo_client.get(f"/api/runs/demo/files/{improve}").json()
    assert any(call["name"] == "str_replace" for call in trajectory["tool_calls"])
    assert all(t["finished"] and t["files"] for t in child["evaluations"])
    invalid = next(n for n in nodes.values() if n["status"] == "invalid")
    assert invalid["reason"].startswith("no diff")


@pytest.mark.browser
def test_the_page_of_the_demo_run(demo_run, page, tmp_path_factory):
    from web_server import LiveServer

    status = _status(demo_run)
    server = LiveServer([demo_run.parent])
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        assert page.locator("path.node").count() == len(status["nodes"])
        best = status["best_id"]
        panel = page.locator(f".node-panel[data-node='{best}']")
        panel.wait_for(timeout=60_000)  # the best node opens first
        assert MARKER in panel.locator(".diff").inner_text()
        panel.locator("table.tasks tbody tr").first.get_by_text("trajectory").click()
        page.locator(".trajectory").first.wait_for(timeout=60_000)
        assert "Meta-reasoning" in page.locator(".trajectory").first.inner_text()
        shots = Path(os.environ.get("AGENTFORGE_SCREENSHOTS", tmp_path_factory.mktemp("shots")))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "web-view-demo.png"))
        assert not page.errors
    finally:
        server.stop()

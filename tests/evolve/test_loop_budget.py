"""A spent token budget stops new work, refuses further model calls, keeps the archive sane."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from loop_fixtures import demo_config
from typer.testing import CliRunner

from agentforge.cli import app

pytestmark = pytest.mark.slow


def test_a_token_budget_stops_the_run_and_a_resume_respects_it(agent_image, tiny_suite, tmp_path):
    config = demo_config(tmp_path, tiny_suite)
    run_dir = tmp_path / "run"
    evolve = [sys.executable, "-m", "agentforge", "evolve", "--quiet"]
    done = subprocess.run([*evolve, "--config", str(config), "--run-dir", str(run_dir),
                           "--set", "budget.max_tokens=1"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "not finalized" in done.stderr

    def status() -> dict:
        shown = CliRunner().invoke(app, ["status", str(run_dir), "--json", "--evaluations"])
        assert shown.exit_code == 0, shown.output
        return json.loads(shown.output)

    first = status()
    assert first["status"] == "stopped" and first["stop_reason"].startswith("budget: tokens")
    # One token pays for no call (the gateway reserves a call's prompt before forwarding
    # it), so the run stops before the seed's first task is run.
    assert [(n["parent_id"], n["status"]) for n in first["nodes"]] == [(None, "evaluating")]
    assert first["evaluations"] == [] and first["spend"]["tokens"] == 0
    assert first["in_flight"]["unfinished_evaluations"] == []
    assert first["report"] is None

    again = subprocess.run([*evolve, "--resume", str(run_dir)], capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    second = status()
    assert second["stop_reason"].startswith("budget: tokens")
    assert second["evaluations"] == first["evaluations"]
    assert second["spend"] == first["spend"]

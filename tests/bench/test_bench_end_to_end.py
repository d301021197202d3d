"""End to end: `agentforge bench run` with the seed agent (archive/base) and the scripted
model behind the gateway solves a bundled task; grading happens in a fresh sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.paths import archive_dir, benchmarks_dir

TASK = "py-exercise-version-compare"


def _reference_file(tmp_path) -> str:
    """The reference solution's version_compare.py (solution.patch applied to the stub)."""
    task_dir = benchmarks_dir() / "local" / "tasks" / TASK
    work = tmp_path / "reference"
    shutil.copytree(task_dir / "repo", work)
    subprocess.run(["git", "apply", str(task_dir / "solution.patch")], cwd=work, check=True)
    return (work / "version_compare.py").read_text()


@pytest.mark.slow
def test_seed_agent_solves_a_bundled_task_through_the_gateway(agent_image, tmp_path):
    script = {"rules": [
        {"name": "rank", "system_contains": "@@ranking",
         "respond": {"content": "@@ranking\ndirect-edit\nmeta-prompting\n@@end"}},
        {"name": "write", "tools_offered": "create",
         "last_message_contains": "A release tool needs to order version strings",
         "respond": {"tool_calls": [{"name": "create", "arguments": {
             "path": "version_compare.py", "content": _reference_file(tmp_path)}}]}},
        {"name": "submit", "last_message_contains": "Overwrote version_compare.py",
         "respond": {"tool_calls": [{"name": "submit", "arguments": {
             "summary": "compare() and latest() written"}}]}},
    ]}
    script_path = tmp_path / "script.json"
    script_path.write_text(json.dumps(script))
    out = tmp_path / "out"
    done = CliRunner().invoke(app, [
        "bench", "run", "--benchmark", "local", "--instance-id", TASK,
        "--agent", str(archive_dir() / "base"), "--model", f"scripted:{script_path}",
        "--out", str(out), "--workers", "1"])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    assert report["resolved_ids"] == [TASK], report["reasons"]
    [pred] = [json.loads(line) for line in (out / "preds.jsonl").read_text().splitlines()]
    assert pred["instance_id"] == TASK and "def compare" in pred["model_patch"]
    trajectory = json.loads((out / "trajectories" / TASK / "out" / "trajectory.json").read_text())
    assert trajectory  # the agent's own record of the run
    # Every model call went through the gateway and is booked to this task in the ledger.
    from agentforge.llm.ledger import Ledger

    calls = Ledger(out / "ledger.sqlite").calls(task_id=TASK)
    assert len(calls) >= 3

"""A run whose agent fills its sandbox's disk goes on: the write fails, the task is graded."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.paths import archive_dir, benchmarks_dir
from agentforge.sandbox.config import DISK_LIMIT_VAR

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASK = "py-exercise-version-compare"


def _reference_file(tmp_path) -> str:
    task_dir = benchmarks_dir() / "local" / "tasks" / TASK
    work = tmp_path / "reference"
    shutil.copytree(task_dir / "repo", work)
    subprocess.run(["git", "apply", str(task_dir / "solution.patch")], cwd=work, check=True)
    return (work / "version_compare.py").read_text()


def _call(name: str, **arguments) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def test_a_bench_run_goes_on_after_its_agent_fills_the_sandbox_disk(agent_image, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv(DISK_LIMIT_VAR, "64m")
    script = {"rules": [
        {"name": "rank", "system_contains": "@@ranking",
         "respond": {"content": "@@ranking\ndirect-edit\nmeta-prompting\n@@end"}},
        {"name": "fill", "tools_offered": "bash",
         "last_message_contains": "A release tool needs to order version strings",
         "respond": _call("bash", command="dd if=/dev/zero of=fill bs=1M count=256 2>&1")},
        {"name": "free", "last_message_contains": "No space left on device",
         "respond": _call("bash", command="rm -f fill && echo space freed")},
        {"name": "write", "last_message_contains": "space freed",
         "respond": _call("create", path="version_compare.py",
                          content=_reference_file(tmp_path))},
        {"name": "submit", "last_message_contains": "Overwrote version_compare.py",
         "respond": _call("submit", summary="compare() and latest() written")},
    ]}
    script_path = tmp_path / "script.json"
    script_path.write_text(json.dumps(script))
    out = tmp_path / "out"
    done = CliRunner().invoke(app, [
        "bench", "run", "--benchmark", "local", "--instance-id", TASK,
        "--agent", str(archive_dir() / "base"), "--model", f"scripted:{script_path}",
        "--out", str(out), "--workers", "1"])
    assert done.exit_code == 0, done.output
    trajectory = (out / "trajectories" / TASK / "out" / "trajectory.json").read_text()
    assert "No space left on device" in trajectory  # the limit was hit inside the sandbox
    assert "space freed" in trajectory
    report = json.loads((out / "report.json").read_text())
    assert report["resolved_ids"] == [TASK], report["reasons"]

"""`agentforge agent test|run` against real sandboxes, the gateway and the scripted model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.cli import app

FIX_SCRIPT = {"rules": [
    {"last_message_contains": "add() subtracts",
     "respond": {"tool_calls": [{"name": "str_replace", "arguments": {
         "path": "calc.py", "old_str": "a - b", "new_str": "a + b"}}]}},
    {"last_message_contains": "Edited calc.py",
     "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "fixed"}}]}},
]}


def _tiny_agent(path: Path, test_body: str) -> Path:
    """An agent directory whose whole test suite is one test."""
    (path / "tiny").mkdir(parents=True)
    (path / "tiny" / "__init__.py").write_text("")
    (path / "agent.toml").write_text('name = "tiny"\nentry = "tiny"\ndescription = "t"\n')
    (path / "tests").mkdir()
    (path / "tests" / "test_it.py").write_text(
        "import os\n\n\ndef test_it():\n"
        "    assert os.path.isfile(os.environ['AGENTFORGE_SCRIPTED_SERVER'])\n"
        f"    {test_body}\n")
    return path


@pytest.mark.slow
def test_agent_test_reports_the_suites_verdict(agent_image, tmp_path):
    good = CliRunner().invoke(app, ["agent", "test", str(_tiny_agent(tmp_path / "a", "pass"))])
    assert good.exit_code == 0, good.output
    assert "1 passed" in good.output
    bad = CliRunner().invoke(app, ["agent", "test",
                                   str(_tiny_agent(tmp_path / "b", "assert 1 == 2"))])
    assert bad.exit_code == 1 and "1 failed" in bad.output


@pytest.mark.slow
def test_agent_run_fixes_a_repository_and_writes_the_patch(agent_image, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(FIX_SCRIPT))
    problem = tmp_path / "problem.md"
    problem.write_text("add() subtracts instead of adding")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "agent", "run", "--repo", str(repo), "--problem", str(problem),
        "--model", f"scripted:{script}", "--strategy", "direct", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["stop_reason"] == "submitted" and report["usage"]["calls"] == 2
    patch = (out / "patch.diff").read_text()
    assert "-    return a - b" in patch and "+    return a + b" in patch
    assert json.loads((out / "out" / "trajectory.json").read_text())["exit_status"] == "ok"

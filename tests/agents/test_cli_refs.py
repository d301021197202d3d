"""References on the command line: `bench run --agent RUN_DIR@NODE` runs that node's code;
`agent export` of a plain folder; `agent test` of a node with no code says why."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from agentforge.agents.export import MANIFEST
from agentforge.bench import get_benchmark
from agentforge.cli import app
from agentforge.examples.offline_demo import demo_script

TASK = "py-exercise-duration-format"


@pytest.mark.slow
def test_bench_run_with_a_node_reference_runs_that_nodes_code(agent_image, finished_run,
                                                              tmp_path):
    script = tmp_path / "model.json"
    # The scripted fix needs node 2's checklist: best (node 2) solves the task, the seed
    # could not (test_api shows the same through load_agent).
    script.write_text(json.dumps(demo_script([get_benchmark("local").task(TASK)])))
    out = tmp_path / "out"
    done = CliRunner().invoke(app, [
        "bench", "run", "--benchmark", "local", "--instance-id", TASK,
        "--agent", f"{finished_run}@best", "--model", f"scripted:{script}",
        "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads((out / "report.json").read_text())["resolved_ids"] == [TASK]


def test_export_of_a_plain_agent_folder(tmp_path):
    agent = tmp_path / "tiny"
    (agent / "tiny").mkdir(parents=True)
    (agent / "tiny" / "__init__.py").write_text("")
    (agent / "tiny" / "prompt.toml").write_text("x = 1\n")
    (agent / "agent.toml").write_text('name = "tiny"\nentry = "tiny"\ndescription = "t"\n')
    out = tmp_path / "export"
    done = CliRunner().invoke(app, ["agent", "export", str(agent), "--out", str(out)])
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["run_id"] is None and manifest["seed"]["kind"] == "folder"
    assert manifest["added_by_export"] == ["MANIFEST.in", "README.md", MANIFEST,
                                           "pyproject.toml", "setup.py",
                                           "tiny_agent/__init__.py", "tiny_agent/__main__.py"]
    assert manifest["changed_by_export"] == []
    assert 'packages = ["tiny_agent", "tiny_agent.tiny"]' in (out / "pyproject.toml").read_text()
    assert "graft tiny" in (out / "MANIFEST.in").read_text()
    assert set(manifest["files"]) >= {"tiny/prompt.toml", "agent.toml", "README.md"}
    assert not (out / "LINEAGE.md").exists()  # a folder has no lineage to tell


def test_agent_commands_name_a_node_without_code(finished_run):
    done = subprocess.run([sys.executable, "-m", "agentforge", "agent", "test",
                           f"{finished_run}@99"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "has no node 99" in done.stderr

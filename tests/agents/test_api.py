"""`from agentforge import load_agent`: the README example runs, on a bundled task, in a
sandbox through the gateway; `.manifest` and `.test()`."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from agentforge.agents.export import export_agent
from agentforge.bench import get_benchmark
from agentforge.evolve.rundir.agent_ref import AgentRefError
from agentforge.examples.offline_demo import SUMMARY, demo_script

TASK = "py-exercise-duration-format"
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    """The Python block after the load-agent-example marker of the README."""
    text = README.read_text()
    block = re.search(r"<!-- load-agent-example -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README lost its load_agent example"
    return block.group(1)


def test_the_readme_example_is_about_five_lines():
    lines = [line for line in readme_example().splitlines() if line.strip()]
    assert 4 <= len(lines) <= 6 and "load_agent(" in lines[1] and ".solve(" in lines[2]


@pytest.mark.slow
def test_the_readme_example_solves_a_bundled_task_with_the_runs_best(agent_image, finished_run,
                                                                     tmp_path, monkeypatch):
    # The process's temporary folder, watched for leftovers (short: sockets live there).
    temp = Path(tempfile.mkdtemp(prefix="af-"))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    task = get_benchmark("local").task(TASK)
    script = tmp_path / "model.json"
    # The scripted fix needs the checklist node 2 added to its prompt: the seed would fail.
    script.write_text(json.dumps(demo_script([task])))
    code = (readme_example()
            .replace('"runs/demo@best"', repr(f"{finished_run}@best"))
            .replace('"./myrepo"', repr(str(task.repo_dir)))
            .replace('"add() subtracts instead of adding"', "PROBLEM")
            .replace('"openai:gpt-4o-mini"', repr(f"scripted:{script}")))
    scope = {"PROBLEM": task.problem_statement}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the documented example
    result = scope["result"]
    assert result.stop_reason == "submitted" and result.exit_code == 0
    assert result.trajectory["stop_reason"] == "submitted"
    leftovers = sorted(path.name for path in temp.iterdir())
    shutil.rmtree(temp)
    assert leftovers == []  # solve without `out` leaves nothing behind
    changed = {line for line in result.patch.splitlines() if line.startswith("+") and
               not line.startswith("+++")}
    wanted = {line for line in task.reference_patch.splitlines() if line.startswith("+") and
              not line.startswith("+++")}
    assert wanted and wanted <= changed
    assert result.usage.get("calls", 0) >= 2 and result.tokens > 0


def test_manifest_of_a_node_and_of_an_export(finished_run, tmp_path):
    from agentforge import load_agent

    agent = load_agent(f"{finished_run}@2")
    assert agent.name == "base" and agent.manifest["summary"] == SUMMARY
    assert agent.manifest["scores"]["validation"]["score"] == 0.75
    exported = load_agent(export_agent(f"{finished_run}@2", tmp_path / "x"))
    assert exported.manifest["node_id"] == 2
    assert exported.manifest["files"]["agent.toml"] == agent.manifest["files"]["agent.toml"]


def test_a_folder_without_agent_toml_is_refused(tmp_path):
    from agentforge import load_agent
    from agentforge.agent_contract import AgentError

    with pytest.raises(AgentError, match="no agent.toml"):
        load_agent(tmp_path)
    with pytest.raises(AgentRefError, match="is not a run directory"):
        load_agent(f"{tmp_path}@best")


@pytest.mark.slow
def test_agent_test_runs_its_own_tests_in_a_sandbox(agent_image, finished_run):
    from agentforge import load_agent

    report = load_agent(f"{finished_run}@best").test(
        pytest_args=["tests/test_contract.py", "-x", "-k", "renders or rejected"])
    assert report.ok and report.exit_code == 0 and "passed" in report.output

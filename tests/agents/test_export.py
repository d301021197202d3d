"""`agentforge agent export`: source, manifest with hashes, lineage, --git, installability."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.agents.export import MANIFEST, export_agent
from agentforge.cli import app
from agentforge.evolve.rundir.agent_ref import AgentRefError
from agentforge.examples.offline_demo import MARKER, SUMMARY


@pytest.fixture(scope="module")
def exported(finished_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "best"
    result = CliRunner().invoke(app, ["agent", "export", f"{finished_run}@best", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_export_holds_the_nodes_source(exported):
    assert (exported / "agent.toml").is_file()
    assert MARKER in (exported / "coding_agent" / "config.toml").read_text()
    assert not (exported / ".git").exists()


def test_the_manifest_names_run_node_ancestors_scores_models_and_hashes(exported):
    manifest = json.loads((exported / MANIFEST).read_text())
    assert manifest["format_version"] == 1 and manifest["contract"] == "agentforge"
    assert manifest["run_id"] == "fixture-run" and manifest["node_id"] == 2
    assert manifest["summary"] == SUMMARY
    assert [a["node_id"] for a in manifest["ancestors"]] == [1]
    validation = manifest["scores"]["validation"]
    assert validation["score"] == 0.75 and validation["tasks"] == 4
    assert validation["task_ids"] == ["py-a", "py-b", "py-c", "py-d"]
    assert manifest["scores"]["held_out"] == {"score": 1.0, "tasks": 1, "task_ids": ["py-h"]}
    assert manifest["models"] == {"diagnose": "openai:gpt-4o-mini", "agent": "openai:gpt-4o-mini"}
    assert manifest["seed"]["kind"] == "folder"
    assert manifest["added_by_export"] == [
        "LINEAGE.md", "MANIFEST.in", MANIFEST, "fixture_run_node_2/__init__.py",
        "fixture_run_node_2/__main__.py", "lineage.patch", "setup.py"]
    # Its README section comes first; its pyproject.toml is the agent's own, renamed.
    assert manifest["changed_by_export"] == ["README.md", "pyproject.toml"]
    assert manifest["package"] == {"distribution": "fixture-run-node-2",
                                   "module": "fixture_run_node_2"}
    assert manifest["status"] == "evaluated" and manifest["reason"] is None
    on_disk = {p.relative_to(exported).as_posix() for p in exported.rglob("*")
               if p.is_file() and p.name != MANIFEST}
    assert set(manifest["files"]) == on_disk
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((exported / rel).read_bytes()).hexdigest() == digest


def test_each_export_installs_under_its_run_and_node(finished_run, exported, tmp_path):
    seed = export_agent(f"{finished_run}@1", tmp_path / "seed")
    names = {}
    for folder in (seed, exported):
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        names[project["name"]] = project["description"]
        assert project["dependencies"] == ["langgraph", "pydantic>=2", "jinja2"]
    assert names == {
        "fixture-run-node-1": "agentforge agent: node 1 of run fixture-run",
        "fixture-run-node-2": f"agentforge agent: node 2 of run fixture-run: {SUMMARY}"}
    setuptools = tomllib.loads((exported / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"fixture_run_node_2.coding_agent": "coding_agent"}
    assert "fixture_run_node_2" in setuptools["packages"]


def test_an_invalid_nodes_export_says_it_is_invalid(finished_run, tmp_path):
    out = export_agent(f"{finished_run}@3", tmp_path / "invalid")
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["status"] == "invalid" and manifest["reason"]
    readme = (out / "README.md").read_text()
    assert "**This node is invalid in its run**" in readme and manifest["reason"] in readme
    project = tomllib.loads((out / "pyproject.toml").read_text())["project"]
    assert project["description"].startswith("INVALID agentforge agent: node 3")


def test_lineage_md_and_lineage_patch_describe_the_change_from_the_seed(exported, tmp_path):
    lines = (exported / "LINEAGE.md").read_text().splitlines()
    steps = [line for line in lines if line.startswith("- node")]
    assert steps[0].startswith("- node 1: the seed — score - → 0.25 (4 tasks)")
    assert steps[1] == f"- node 2: {SUMMARY} — score 0.25 (4 tasks) → 0.75 (4 tasks)"
    patch = (exported / "lineage.patch").read_text()
    assert MARKER in patch and "coding_agent/config.toml" in patch
    # The patch takes the seed to the exported source.
    from agentforge.paths import archive_dir

    seed = tmp_path / "seed"
    subprocess.run(["cp", "-r", str(archive_dir() / "base"), str(seed)], check=True)
    subprocess.run(["git", "apply", str(exported / "lineage.patch")], cwd=seed, check=True)
    assert (seed / "coding_agent" / "config.toml").read_bytes() == \
        (exported / "coding_agent" / "config.toml").read_bytes()


def test_the_readme_says_how_to_run_it_sandboxed_and_what_unsandboxed_means(exported):
    readme = (exported / "README.md").read_text()
    assert "agentforge agent run" in readme and "load_agent" in readme
    assert "on your machine" in readme
    assert "Seed coding agent" in readme or "coding agent" in readme.split("---", 1)[1]


def test_git_export_has_one_commit_per_ancestor_with_proposal_messages(finished_run, tmp_path):
    out = export_agent(f"{finished_run}@2", tmp_path / "git-export", git=True)
    log = subprocess.run(["git", "log", "--reverse", "--format=%s"], cwd=out, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert log == ["seed agent", SUMMARY, "agentforge export: manifest, lineage, README"]
    first = subprocess.run(["git", "show", "HEAD~2:coding_agent/config.toml"], cwd=out,
                           check=True, capture_output=True, text=True).stdout
    assert MARKER not in first
    status = subprocess.run(["git", "status", "--porcelain"], cwd=out, capture_output=True,
                            text=True, check=True).stdout
    assert status == ""  # everything the export wrote is committed


def test_exporting_into_a_non_empty_folder_is_refused_and_touches_nothing(finished_run,
                                                                          tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(AgentRefError, match="not empty"):
        export_agent(f"{finished_run}@2", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]

"""`RUN_DIR@NODE` and plain directories resolve to an agent's source folder."""

from __future__ import annotations

import json

import pytest

from agentforge.evolve.rundir.agent_ref import AgentRefError, parse_agent_ref, resolve_agent
from agentforge.examples.offline_demo import MARKER
from agentforge.paths import archive_dir


def _has_checklist(folder) -> bool:
    return MARKER in (folder / "coding_agent" / "config.toml").read_text()


def test_a_plain_directory_is_itself_even_with_an_at_in_its_name(tmp_path):
    odd = tmp_path / "agent@2"
    odd.mkdir()
    assert parse_agent_ref(odd).node is None
    assert resolve_agent(archive_dir() / "base").path == (archive_dir() / "base").resolve()


def test_a_node_id_resolves_to_that_commits_source(finished_run):
    seed = resolve_agent(f"{finished_run}@1")
    child = resolve_agent(f"{finished_run}@2")
    assert not _has_checklist(seed.path) and _has_checklist(child.path)
    assert (child.path / "agent.toml").is_file() and child.node_id == 2
    assert child.path.parent == finished_run / "agents" and child.status == "evaluated"


def test_best_is_the_validation_best_until_the_run_is_finalized(finished_run, tmp_path):
    assert resolve_agent(f"{finished_run}@best").node_id == 2
    report = finished_run / "report.json"
    report.write_text(json.dumps({"best_id": 1, "finalists": []}))
    try:
        assert resolve_agent(f"{finished_run}@best").node_id == 1  # the held-out pick wins
    finally:
        report.unlink()


@pytest.mark.parametrize("ref, words", [
    ("{run}@9", "has no node 9"),
    ("{run}@latest", "give a node id"),
    ("{tmp}@1", "is not a run directory"),
    ("{tmp}/absent", "is not a directory"),
])
def test_a_reference_to_nothing_says_what_to_give(finished_run, tmp_path, ref, words):
    with pytest.raises(AgentRefError, match=words):
        resolve_agent(ref.format(run=finished_run, tmp=tmp_path))


def test_a_node_without_code_is_refused_with_its_reason(finished_run):
    from agentforge.evolve.rundir import RunDir

    store = RunDir(finished_run).open_store()
    try:
        failed = store.add_node("fixture-run", parent_id=1, status="failed",
                                reason="diagnosis failed: no JSON")
    finally:
        store.close()
    with pytest.raises(AgentRefError, match="diagnosis failed: no JSON"):
        resolve_agent(f"{finished_run}@{failed.id}")

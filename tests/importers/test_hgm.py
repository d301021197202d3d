"""`agentforge import hgm`: the tree from hgm_metadata.jsonl (Infinity included), the root's
code from initial/src, failed attempts outside the tree, a broken patch, refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from foreign_runs import SWE_IDS, A, B, C, E, make_hgm_run

from agentforge.agents.export import MANIFEST, export_agent
from agentforge.evolve.report.status import run_status
from agentforge.evolve.rundir.agent_ref import resolve_agent
from agentforge.importers.records import ImportRefused, read_json_records


def agentforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", *args], capture_output=True,
                          text=True, timeout=300)


def test_the_tree_nodes_failed_attempts_and_the_broken_patch(hgm_imported):
    status = run_status(hgm_imported, evaluations=True)
    nodes = {n["external_id"]: n for n in status["nodes"]}
    assert set(nodes) == {"initial", A, B, C, E}
    assert nodes[B]["parent_id"] == nodes[A]["id"] and nodes[A]["parent_id"] == 1
    assert nodes[B]["status"] == "evaluated" and nodes[B]["evaluated_tasks"] == 0
    assert nodes[C]["status"] == "failed" and "no problem statement" in nodes[C]["reason"]
    assert nodes[E]["status"] == "failed" and "does not apply" in nodes[E]["reason"]
    assert status["best_id"] == nodes[A]["id"]
    assert status["imported_from"]["system"] == "hgm"
    json.dumps(status, allow_nan=False)  # HGM's Infinity does not leak into our JSON


def test_hgm_node_ids_and_utilities_are_kept_and_code_rebuilt(hgm_imported, tmp_path):
    ids = {n["external_id"]: n["id"] for n in run_status(hgm_imported)["nodes"]}
    agent = resolve_agent(f"{hgm_imported}@{ids[B]}")
    assert agent.external_id == B
    assert "swe agent, improved" in (agent.path / "coding_agent.py").read_text()
    manifest = json.loads((export_agent(f"{hgm_imported}@best", tmp_path / "x") / MANIFEST)
                          .read_text())
    assert manifest["contract"] == "hgm" and manifest["external_id"] == A
    assert manifest["scores"]["validation"]["task_ids"] == sorted(SWE_IDS)


def test_records_spanning_lines_with_infinity_and_a_cut_tail(tmp_path):
    path = tmp_path / "hgm_metadata.jsonl"
    path.write_text(json.dumps({"nodes": [{"mean_utility": float("inf")}]}, indent=2) + "\n"
                    + json.dumps({"nodes": []}, indent=2) + "\n" + '{\n  "nodes": [\n')
    records = read_json_records(path)
    assert len(records) == 2 and records[0]["nodes"][0]["mean_utility"] == float("inf")
    path.write_text("not json\n")
    with pytest.raises(ImportRefused, match="not a sequence of JSON records"):
        read_json_records(path)


def test_refusals(tmp_path):
    source = make_hgm_run(tmp_path / "run")
    done = agentforge("import", "hgm", str(tmp_path), "--run-dir", str(tmp_path / "out"))
    assert done.returncode == 2 and "is not an HGM run directory" in done.stderr
    (source / "initial" / "src" / "coding_agent.py").unlink()
    done = agentforge("import", "hgm", str(source), "--run-dir", str(tmp_path / "out"))
    assert done.returncode == 2 and "give --base HGM_CHECKOUT" in done.stderr
    done = agentforge("import", "hgm", str(source), "--base", str(tmp_path), "--run-dir",
                      str(tmp_path / "out"))
    assert done.returncode == 2 and "has no coding_agent.py" in done.stderr
    assert not (tmp_path / "out").exists()
    (source / "initial" / "src" / "coding_agent.py").write_text("def main():\n    pass\n")
    done = agentforge("import", "hgm", str(source), "--run-dir", str(source))
    assert done.returncode == 2 and "already exists and is not empty" in done.stderr

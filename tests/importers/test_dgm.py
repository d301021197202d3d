"""`agentforge import dgm`: nodes, code rebuilt from patches, evaluations from the id lists,
failed attempts and a broken patch kept with their reasons, foreign ids, read-only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from foreign_runs import (
    BASE_FILES,
    ERRORED_IDS,
    POLYGLOT_IDS,
    SWE_IDS,
    A,
    B,
    C,
    D,
    E,
    F,
    make_dgm_checkout,
    make_dgm_run,
    make_dgm_run_with_harness_errors,
)

from agentforge.agents.export import MANIFEST, export_agent
from agentforge.evolve.report.status import run_status
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.rundir.agent_ref import AgentRefError, resolve_agent, resolve_runnable_agent
from agentforge.importers.common import write_imported_run
from agentforge.importers.dgm import read_dgm_run
from agentforge.store.consistency import archive_problems


def agentforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", *args], capture_output=True,
                          text=True, timeout=300)


def by_external(status: dict) -> dict[str, dict]:
    return {n["external_id"]: n for n in status["nodes"]}


def test_every_attempt_is_a_node_with_its_foreign_id_status_and_reason(dgm_imported):
    nodes = by_external(run_status(dgm_imported))
    assert set(nodes) == {"initial", A, B, C, D, E, F}
    assert nodes["initial"]["parent_id"] is None
    assert nodes[B]["parent_id"] == nodes[A]["id"] and nodes[F]["parent_id"] == nodes[E]["id"]
    assert {k for k, n in nodes.items() if n["status"] == "evaluated"} == {"initial", A, B}
    assert "no problem statement" in nodes[C]["reason"]
    assert "no metadata.json" in nodes[D]["reason"] and nodes[D]["commit"] is None
    assert "does not apply" in nodes[E]["reason"] and nodes[E]["commit"] is None
    assert "has no code" in nodes[F]["reason"]
    assert nodes[B]["summary"] == "Better output"


def test_evaluations_come_from_the_id_lists_with_empty_patch_reasons(dgm_imported):
    status = run_status(dgm_imported, evaluations=True)
    nodes = by_external(status)
    assert (nodes["initial"]["score"], nodes["initial"]["evaluated_tasks"]) == (1 / 3, 3)
    assert (nodes[A]["resolved_tasks"], nodes[B]["resolved_tasks"]) == (2, 3)
    of_a = {e["task_id"]: e for e in status["evaluations"] if e["node_id"] == nodes[A]["id"]}
    assert of_a[SWE_IDS[2]]["resolved"] is False and of_a[SWE_IDS[2]]["reason"] == "empty patch"
    assert status["best_id"] == nodes[B]["id"] and status["best_lineage"] == [
        nodes["initial"]["id"], nodes[A]["id"], nodes[B]["id"]]
    assert status["imported_from"]["system"] == "dgm"


def test_scores_count_the_tasks_dgm_counts_and_say_which_errored(dgm_checkout, tmp_path):
    plan = read_dgm_run(make_dgm_run_with_harness_errors(tmp_path / "run"), dgm_checkout)
    status = run_status(write_imported_run(plan, tmp_path / "imported"), evaluations=True)
    nodes = by_external(status)
    # DGM's accuracy_score is 1/4: the two harness errors count as failures, named.
    assert (nodes["initial"]["score"], nodes["initial"]["evaluated_tasks"]) == (0.25, 4)
    of_root = {e["task_id"]: e for e in status["evaluations"]
               if e["node_id"] == nodes["initial"]["id"]}
    for task in ERRORED_IDS:
        assert of_root[task]["resolved"] is False and "errored" in of_root[task]["reason"]
    # A's third counted task is named nowhere: the import says so, with both scores.
    assert (nodes[A]["score"], nodes[A]["evaluated_tasks"]) == (0.5, 2)
    assert plan.notes[-1] == (f"{A}: its harness counted 3 tasks but names only 2 (no report or "
                          "prediction names the other 1, errors of its harness): its score "
                          "here is 1/2, where the foreign score is 1/3")


def test_a_nodes_code_is_the_checkout_plus_its_ancestors_patches(dgm_imported):
    agent = resolve_agent(f"{dgm_imported}@best")
    assert agent.external_id == B and agent.contract == "dgm"
    files = {p.relative_to(agent.path).as_posix() for p in agent.path.rglob("*") if p.is_file()}
    # What DGM's image holds: its .dockerignore keeps the outer loop and initial/ out.
    assert "DGM_outer.py" not in files and "initial/metadata.json" not in files
    assert "coding_agent_polyglot.py" not in files  # a SWE-bench run removes it
    assert "with open(path, 'w') as f:" in (agent.path / "tools/edit.py").read_text()  # A
    assert "swe agent, improved" in (agent.path / "coding_agent.py").read_text()  # B


def test_the_archive_is_consistent_apart_from_descendants_of_a_broken_patch(dgm_imported):
    rundir = RunDir(dgm_imported)
    store = rundir.open_store()
    try:
        problems = archive_problems(store, rundir.run_id(store), rundir.open_repo())
    finally:
        store.close()
    # F's parent E failed (its patch does not apply): the one truthful exception.
    assert len(problems) == 1 and "is failed" in problems[0]


def test_export_of_an_imported_agent_says_it_follows_dgms_contract(dgm_imported, tmp_path):
    out = export_agent(f"{dgm_imported}@best", tmp_path / "dgm-best", git=True)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["contract"] == "dgm" and manifest["external_id"] == B
    assert [a["external_id"] for a in manifest["ancestors"]] == ["initial", A]
    assert manifest["imported_from"]["system"] == "dgm"
    assert "follows DGM's agent contract, not agentforge's" in (out / "README.md").read_text()
    assert f"[{B}]" in (out / "LINEAGE.md").read_text()
    assert "coding_agent.py" in (out / "lineage.patch").read_text()
    assert not (out / "setup.py").exists()  # not packaged as an agentforge agent
    with pytest.raises(AgentRefError, match="DGM's agent contract"):
        resolve_runnable_agent(out)  # the export stays a DGM agent
    log = subprocess.run(["git", "log", "--format=%s"], cwd=out, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert len(log) == 4 and "Better output" in log[1]


def test_running_an_imported_agent_is_refused_with_why(dgm_imported):
    with pytest.raises(AgentRefError, match="DGM's agent contract, not agentforge's"):
        resolve_runnable_agent(f"{dgm_imported}@best")
    done = agentforge("agent", "test", f"{dgm_imported}@best")
    assert done.returncode == 2 and "agentforge agent export" in done.stderr


def test_resume_of_an_imported_run_is_refused_with_why(dgm_imported):
    done = agentforge("evolve", "--resume", str(dgm_imported))
    assert done.returncode == 2
    assert "imported DGM run" in done.stderr and "read-only" in done.stderr
    done = agentforge("evolve", "finalize", str(dgm_imported))
    assert done.returncode == 2 and "read-only" in done.stderr


def test_status_text_and_json_of_the_imported_run(dgm_imported):
    done = agentforge("status", str(dgm_imported), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "finished"
    text = agentforge("status", str(dgm_imported))
    assert "imported from DGM: " in text.stdout and "(read-only)" in text.stdout
    assert f"[{B}]" in text.stdout


def test_a_polyglot_run_renames_the_polyglot_agent_first(dgm_checkout, tmp_path):
    source = make_dgm_run(tmp_path / "poly", polyglot=True)
    plan = read_dgm_run(source, dgm_checkout)
    assert plan.polyglot
    run = write_imported_run(plan, tmp_path / "imported")
    root = resolve_agent(f"{run}@1").path
    assert (root / "coding_agent.py").read_text() == BASE_FILES["coding_agent_polyglot.py"]
    assert not (root / "coding_agent_polyglot.py").exists()
    assert not (root / "utils" / "eval_utils.py").exists()
    best = resolve_agent(f"{run}@best")
    assert best.external_id == B
    assert "polyglot agent, improved" in (best.path / "coding_agent.py").read_text()
    assert POLYGLOT_IDS[0] in {e for e in json.dumps(run_status(run, evaluations=True))
                               .split('"') if "__" in e}


def test_a_partial_run_without_dgm_metadata_imports(dgm_checkout, tmp_path):
    source = make_dgm_run(tmp_path / "partial", with_metadata=False)
    plan = read_dgm_run(source, dgm_checkout)
    assert plan.notes and "partial run" in plan.notes[0]
    assert len(run_status(write_imported_run(plan, tmp_path / "imported"))["nodes"]) == 7


@pytest.mark.parametrize("case, words", [
    ("not-a-run", "is not a DGM run directory"),
    ("checkout", "is a DGM checkout, not a run"),
    ("no-base", "give --base DGM_CHECKOUT"),
    ("wrong-base", "is not a DGM checkout (missing coding_agent.py, DGM_outer.py"),
    ("mismatched-base", "it is not the checkout this run was made with"),
    ("existing", "already exists and is not empty"),
])
def test_refusals_say_what_to_give_and_write_nothing(case, words, dgm_source, dgm_checkout,
                                                     tmp_path):
    target = tmp_path / "target"
    args = ["import", "dgm", str(dgm_source), "--base", str(dgm_checkout), "--run-dir",
            str(target)]
    if case == "not-a-run":
        args[2] = str(dgm_checkout / "tools")
    elif case == "checkout":
        args[2] = str(dgm_checkout)
    elif case == "no-base":
        del args[3:5]
    elif case == "wrong-base":
        args[4] = str(tmp_path)
    elif case == "mismatched-base":  # another DGM version: its files differ from the run's
        other = make_dgm_checkout(tmp_path / "other-dgm")
        (other / "tools" / "edit.py").write_text("def edit(path, new_text):\n    pass\n")
        args[4] = str(other)
    else:
        target.mkdir()
        (target / "mine.txt").write_text("keep")
    done = agentforge(*args)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "other-dgm")
    assert left == (["target"] if case == "existing" else [])
    if case == "existing":
        assert [p.name for p in target.iterdir()] == ["mine.txt"]


def test_the_cli_imports_and_reports(dgm_source, dgm_checkout, tmp_path):
    done = agentforge("import", "dgm", str(dgm_source), "--base", str(dgm_checkout),
                      "--run-dir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "imported 7 nodes of the DGM run" in done.stdout and "4 failed" in done.stdout
    assert Path(tmp_path / "run" / "archive.sqlite").is_file()

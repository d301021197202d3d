"""An imported DGM run, an imported HGM run and a command-line agent each seed a new run:
its children are made by the agent implementing the diagnosed change on its own code,
validated by its own tests and a contract smoke run, evaluated, resumed, exported; the
lineage keeps the foreign ids. The scripted model answers through the gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from contract_runs import (
    FOREIGN_LINE,
    MARKER,
    SUMMARY,
    make_command_agent,
    make_dgm_run_of_own_agent,
    make_hgm_run_of_own_agent,
    write_suite_and_config,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def agentforge(*args, timeout: float = 3000) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "agentforge", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def status(run: Path) -> dict:
    return json.loads(agentforge("status", run, "--json").stdout)


def seed_of(kind: str, root: Path) -> tuple[str, str | None]:
    """(the --seed reference, the foreign id it keeps) for each contract's own agent."""
    if kind == "command":
        return str(make_command_agent(root)), None
    if kind == "dgm":
        run, checkout, step = make_dgm_run_of_own_agent(root)
        agentforge("import", "dgm", run, "--base", checkout, "--run-dir", root / "imported")
    else:
        run, step = make_hgm_run_of_own_agent(root)
        agentforge("import", "hgm", run, "--run-dir", root / "imported")
    node = next(n for n in status(root / "imported")["nodes"] if n["external_id"] == step)
    return f"{root / 'imported'}@{node['id']}", step


@pytest.mark.parametrize("kind", ["dgm", "hgm", "command"])
def test_a_run_seeded_by_each_contracts_agent_evolves_resumes_and_exports(
        kind, agent_image, tmp_path):
    seed, foreign_id = seed_of(kind, tmp_path)
    config = write_suite_and_config(tmp_path, seed, iterations=1)
    run = tmp_path / "run"
    agentforge("evolve", "--config", config, "--run-dir", run)
    agentforge("evolve", "--resume", run, "--set", "budget.max_iterations=2")

    nodes = {n["id"]: n for n in status(run)["nodes"]}
    root = next(n for n in nodes.values() if n["parent_id"] is None)
    children = [n for n in nodes.values() if n["parent_id"] is not None]
    assert root["origin"]["contract"] == kind and root["external_id"] == foreign_id
    assert root["origin"]["validated"] == "own tests passed at seeding"
    assert (root["score"], root["evaluated_tasks"]) == (0.5, 2)
    # Two children, each the agent's own edit of its checklist, valid and better than the seed.
    assert len(children) == 2, nodes
    for child in children:
        assert child["status"] == "evaluated", child
        assert (child["score"], child["evaluated_tasks"]) == (1.0, 2), child
        assert child["operator"] == "self_edit"

    out = tmp_path / "export"
    agentforge("agent", "export", f"{run}@best", "--out", out)
    manifest = json.loads((out / "agentforge-agent.json").read_text())
    assert manifest["contract"] == kind
    seed_origin = manifest["seed"]
    assert seed_origin["contract"] == kind and seed_origin.get("external_id") == foreign_id
    checklist = (out / "checklist.txt").read_text()
    assert MARKER in checklist
    assert (FOREIGN_LINE in checklist) == (foreign_id is not None)
    lineage = (out / "LINEAGE.md").read_text()
    assert SUMMARY in lineage and f"{kind} contract" in lineage
    if foreign_id:
        assert f"[{foreign_id}]" in lineage
    assert f"`{kind}` agent contract" in (out / "README.md").read_text()

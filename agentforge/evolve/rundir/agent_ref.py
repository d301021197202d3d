"""Naming an agent: `RUN_DIR@NODE` (a node id or `best`) or a plain agent directory.

    resolve_agent("runs/demo@best")  -> ResolvedAgent(path=runs/demo/agents/<commit>, ...)
    resolve_agent("archive/base")    -> ResolvedAgent(path=archive/base)

A node's source is exported once from the run's agents.git into the run's `agents/` cache
(the same cache the evolution loop uses), so resolving is cheap after the first time.
`best` is the run's final pick: the held-out best of report.json if the run was finalized,
else the best by validation score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.evolve.rundir.refs import AgentRef, AgentRefError, parse_agent_ref

AGENTFORGE_CONTRACT = "agentforge"
"""Agents run by agentforge's agent contract (agent.toml, `python -m ENTRY --repo ...`)."""


@dataclass
class ResolvedAgent:
    """Where an agent's source is on this machine and, for a run's node, where it came from."""

    path: Path
    """Folder holding the agent's source (agent.toml for agentforge's contract)."""
    ref: str
    """The reference as given."""
    run_dir: Path | None = None
    run_id: str | None = None
    node_id: int | None = None
    commit: str | None = None
    status: str | None = None
    reason: str | None = None
    external_id: str | None = None
    contract: str = AGENTFORGE_CONTRACT
    """Whose agent contract the source follows: agentforge, dgm or hgm (an imported run)."""
    run_origin: dict | None = field(default=None, repr=False)
    """The origin record of an imported run (system, source, contract)."""

    def origin(self) -> dict:
        """Where this agent came from, as plain data (what a seed node records)."""
        if self.run_dir is None:
            return {"kind": "folder", "path": str(self.path), "ref": self.ref}
        return {"kind": "run-node", "ref": self.ref, "run_dir": str(self.run_dir),
                "run_id": self.run_id, "node_id": self.node_id, "commit": self.commit,
                "external_id": self.external_id, "contract": self.contract}


def resolve_agent(text: str | Path) -> ResolvedAgent:
    """The agent a reference names, its source exported to a folder if it is a run's node."""
    ref = parse_agent_ref(text)
    if ref.node is None:
        if not ref.path.is_dir():
            raise AgentRefError(f"{ref.path} is not a directory: give an agent directory "
                                "(with agent.toml) or RUN_DIR@NODE (a node id or best)")
        return ResolvedAgent(path=ref.path.resolve(), ref=str(text),
                             contract=_exported_contract(ref.path))
    return _resolve_node(ref)


def _exported_contract(folder: Path) -> str:
    """The contract an export's manifest names (an exported DGM/HGM agent stays theirs)."""
    try:
        manifest = json.loads((folder / "agentforge-agent.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return AGENTFORGE_CONTRACT
    contract = manifest.get("contract") if isinstance(manifest, dict) else None
    return contract if isinstance(contract, str) and contract else AGENTFORGE_CONTRACT


def _resolve_node(ref: AgentRef) -> ResolvedAgent:
    from agentforge.evolve.rundir import RunDir
    from agentforge.evolve.rundir.agents import export_commit

    rundir = RunDir(ref.path)
    if not rundir.exists():
        raise AgentRefError(f"{ref.path} is not a run directory (no archive): give a "
                            "directory made by agentforge evolve or agentforge import")
    store = rundir.open_store()
    try:
        run_id = rundir.run_id(store)
        run = store.get_run(run_id)
        node_id = best_node_id(rundir, store, run_id) if ref.node == "best" else int(ref.node)
        nodes = {n.id: n for n in store.list_nodes(run_id)}
    finally:
        store.close()
    if node_id not in nodes:
        raise AgentRefError(f"run {ref.path} has no node {node_id}: its nodes are "
                            f"{sorted(nodes)} (see agentforge status {ref.path})")
    node = nodes[node_id]
    if not node.commit:
        raise AgentRefError(f"node {node_id} of {ref.path} has no code ({node.status.value}: "
                            f"{node.reason or 'no commit'}); pick another node")
    run_origin = json.loads(run.origin_json) if run.origin_json else None
    folder = export_commit(rundir.open_repo(), node.commit, rundir.agents)
    return ResolvedAgent(
        path=folder, ref=str(ref), run_dir=rundir.path, run_id=run_id, node_id=node_id,
        commit=node.commit, status=node.status.value, reason=node.reason,
        external_id=node.external_id,
        contract=(run_origin or {}).get("contract", AGENTFORGE_CONTRACT), run_origin=run_origin)


def best_node_id(rundir, store, run_id: str) -> int:
    """The run's final pick: report.json's held-out best, else the best by validation (never
    a node whose graders disagreed)."""
    from agentforge.evolve.selection.base import NoParentAvailable, best_by_score

    if rundir.report_file.is_file():
        best = json.loads(rundir.report_file.read_text()).get("best_id")
        if best is not None:
            return int(best)
    bench = rundir.load_config().benchmark
    rows = store.node_rows(run_id, bench.validation_split, bench.held_out_split)
    try:
        return best_by_score([row for row in rows if not row.grading_disagreements])
    except NoParentAvailable as exc:
        raise AgentRefError(f"run {rundir.path} has no best agent yet ({exc}); "
                            "name a node id instead of best") from exc


def resolve_runnable_agent(text: str | Path):
    """Resolve a reference and read its agent.toml: (ResolvedAgent, AgentSpec).

    A node of an imported DGM/HGM run follows that system's contract, not ours: it is
    refused here (export it and run it the way its README says).
    """
    from agentforge.agent_contract import load_agent_spec

    resolved = resolve_agent(text)
    if resolved.contract != AGENTFORGE_CONTRACT:
        raise AgentRefError(
            f"{resolved.ref} is an agent of an imported {resolved.contract.upper()} run: it "
            f"follows {resolved.contract.upper()}'s agent contract, not agentforge's, so "
            f"agentforge cannot run it; take it out with agentforge agent export {resolved.ref} "
            "--out DIR")
    return resolved, load_agent_spec(resolved.path)

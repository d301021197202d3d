"""A node's provenance as plain data: its chain of ancestors with their scores and tasks."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentforge.evolve.rundir.agent_ref import ResolvedAgent


@dataclass
class Step:
    """One ancestor on the way from the seed to the agent (the seed first)."""

    node_id: int
    commit: str | None
    summary: str | None
    """The proposal that made this node (None for the seed)."""
    external_id: str | None = None
    validation_score: float | None = None
    validation_tasks: int = 0
    held_out_score: float | None = None
    held_out_tasks: int = 0


@dataclass
class Lineage:
    """Everything the export's manifest says about where an agent came from."""

    run_id: str
    run_dir: str
    node_id: int
    steps: list[Step]
    validation_task_ids: list[str] = field(default_factory=list)
    held_out_task_ids: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    """Model spec per role (diagnose, agent)."""
    seed: dict = field(default_factory=dict)
    """Where the root agent came from (a folder, another run's node, a foreign system)."""
    imported_from: dict | None = None

    @property
    def node(self) -> Step:
        """The agent's own step (the last)."""
        return self.steps[-1]

    def to_json(self) -> dict:
        """Plain JSON-able data."""
        return asdict(self)


def read_lineage(agent: ResolvedAgent) -> Lineage:
    """The chain of ancestors of a run's node with scores, task ids, models and seed origin."""
    from agentforge.evolve.rundir import RunDir

    rundir = RunDir(Path(agent.run_dir))
    config = rundir.load_config()
    bench = config.benchmark
    store = rundir.open_store()
    try:
        run = store.get_run(agent.run_id)
        nodes = {row.id: row for row in store.node_rows(
            agent.run_id, bench.validation_split, bench.held_out_split)}
        finished = store.list_evaluations(agent.run_id, finished=True, node_id=agent.node_id)
    finally:
        store.close()
    chain, cursor = [], agent.node_id
    while cursor is not None:
        chain.insert(0, nodes[cursor])
        cursor = nodes[cursor].parent_id
    steps = [Step(node_id=n.id, commit=n.commit, summary=n.summary, external_id=n.external_id,
                  validation_score=n.score, validation_tasks=n.evaluated_tasks,
                  held_out_score=n.held_out_score, held_out_tasks=n.held_out_tasks)
             for n in chain]
    root = chain[0]
    seed = (json.loads(root.origin_json) if root.origin_json
            else {"kind": "folder", "path": str(config.seed_agent)})
    imported = json.loads(run.origin_json) if run.origin_json else None
    models = ({role: getattr(config.llm, role).spec for role in ("diagnose", "agent")}
              if imported is None else dict(imported.get("models", {})))
    return Lineage(
        run_id=agent.run_id, run_dir=str(rundir.path), node_id=agent.node_id, steps=steps,
        validation_task_ids=sorted({e.task_id for e in finished
                                    if e.split == bench.validation_split}),
        held_out_task_ids=sorted({e.task_id for e in finished
                                  if e.split == bench.held_out_split}),
        models=models, seed=seed, imported_from=imported)


def lineage_markdown(lineage: Lineage) -> str:
    """LINEAGE.md: one line per step, what changed and the score before and after."""
    lines = [f"# Lineage of node {lineage.node_id} of run {lineage.run_id}", "",
             f"Seed: {_describe_seed(lineage.seed)}", ""]
    if lineage.imported_from:
        lines += [f"Imported from a {lineage.imported_from.get('system', '?').upper()} run: "
                  f"{lineage.imported_from.get('source', '?')}", ""]
    previous = None
    for step in lineage.steps:
        foreign = f" [{step.external_id}]" if step.external_id else ""
        what = step.summary or ("the seed" if previous is None else "(no summary recorded)")
        lines.append(f"- node {step.node_id}{foreign}: {what} — score "
                     f"{_score(previous)} → {_score(step)}")
        previous = step
    return "\n".join(lines) + "\n"


def _score(step: Step | None) -> str:
    if step is None:
        return "-"
    text = "-" if step.validation_score is None else f"{step.validation_score:.2f}"
    return f"{text} ({step.validation_tasks} tasks)"


def _describe_seed(seed: dict) -> str:
    if seed.get("kind") == "run-node":
        return f"node {seed.get('node_id')} of run {seed.get('run_dir')} ({seed.get('ref')})"
    return str(seed.get("path") or seed)

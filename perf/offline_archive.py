"""What one run of the offline landscape built: its figures for perf/search_offline.py's
table, and the shape of its archive (`--describe`)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from agentforge.evolve.operators.stats import OperatorStats, operator_stats
from agentforge.evolve.report.status import run_status
from agentforge.evolve.rundir import RunDir
from agentforge.examples.offline_landscape import REAL_SKILLS, SKILLS
from agentforge.llm.ledger import Ledger


@dataclass
class RunFigures:
    """One finished run: its pick (report.json's best), what it holds, what reaching it cost."""

    nodes: int
    invalid: int
    copies: int
    """Children that were an agent the archive held (not evaluated again)."""
    pick: int | None
    pick_held_out: float | None
    pick_skills: list[str]
    evaluations_to_pick: int
    """Validation evaluations finished before the pick's node was made."""
    tokens_to_pick: int
    """Tokens of every model call (not from the cache) before the pick's node was made."""
    evaluations: int
    tokens: int
    grown: int
    """Nodes that validation growth gave tasks beyond the cap."""
    topped_up: int
    """Validation evaluations the top-up before the finalists ran (in `evaluations` too)."""
    operators: dict[str, OperatorStats]

    @property
    def holds_every_real_skill(self) -> bool:
        """The pick fixes every task, held-out ones included."""
        return set(REAL_SKILLS) <= set(self.pick_skills)


def skills_of(repo, commit: str | None) -> list[str]:
    """The landscape skills whose lines the agent's coder prompt carries."""
    text = repo.read_file(commit, "coding_agent/config.toml") if commit else None
    return [name for name, skill in SKILLS.items() if text and skill.marker in text]


def run_figures(run_dir: Path) -> RunFigures:
    """The figures of a finalized run (report.json names its pick)."""
    rundir = RunDir(run_dir)
    config, store = rundir.load_config(), rundir.open_store()
    try:
        run_id = rundir.run_id(store)
        bench = config.benchmark
        report = json.loads(rundir.report_file.read_text())
        nodes = {n.id: n for n in store.list_nodes(run_id)}
        pick = report["best_id"]
        row = next((r for r in report["finalists"] if r["id"] == pick), {})
        born = nodes[pick].created_at.replace(tzinfo=None) if pick is not None else None
        validation = store.list_evaluations(run_id, finished=True, split=bench.validation_split)
        calls = [c for c in Ledger(store.engine).calls(run_id=run_id) if not c.cached]
        events = store.list_events(run_id)
        grown = {n for e in events if e.kind == "grow"
                 for n in json.loads(e.data_json or "{}").get("nodes", [])}
        topped_up = sum(json.loads(e.data_json or "{}").get("evaluations", 0)
                        for e in events if e.kind == "top_up")
        return RunFigures(
            nodes=len(nodes), invalid=sum(n.status.value == "invalid" for n in nodes.values()),
            copies=sum(n.copy_of is not None for n in nodes.values()),
            pick=pick, pick_held_out=row.get("held_out_score"),
            pick_skills=skills_of(rundir.open_repo(), nodes[pick].commit if pick else None),
            evaluations_to_pick=sum(1 for e in validation
                                    if born and e.finished_at.replace(tzinfo=None) < born),
            tokens_to_pick=sum(c.prompt_tokens + c.completion_tokens for c in calls
                               if born and c.created_at.replace(tzinfo=None) < born),
            evaluations=len(validation),
            tokens=sum(c.prompt_tokens + c.completion_tokens for c in calls),
            grown=len(grown), topped_up=topped_up,
            operators=operator_stats(store, Ledger(store.engine), run_id,
                                     bench.validation_split))
    finally:
        store.close()


def describe(run_dir: Path) -> list[str]:
    """The shape of a run's archive: lineages, invalid children, operators, the selector's
    picks, and the landscape skills of every node (from `status --json` and the repo)."""
    status = run_status(run_dir, evaluations=True)
    nodes = {n["id"]: n for n in status["nodes"]}
    root = min(nodes)
    depth, lineage = {root: 0}, {root: None}
    for node_id in sorted(nodes):
        parent = nodes[node_id]["parent_id"]
        if parent is not None:
            depth[node_id] = depth[parent] + 1
            lineage[node_id] = node_id if parent == root else lineage[parent]
    repo = RunDir(run_dir).open_repo()

    def score(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    children = [n for n in nodes.values() if n["parent_id"] is not None]
    statuses = Counter(n["status"] for n in nodes.values())
    reasons = Counter((n["reason"] or "").split(":")[0] for n in children
                      if n["status"] in ("invalid", "failed"))
    lines = [f"run {status['run_id']}: {status['status']} ({status['stop_reason']}), "
             f"{status['iterations']} iterations, {len(nodes)} nodes: "
             + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
             f"lineages (children of the root): "
             f"{sum(1 for n in children if n['parent_id'] == root)}; "
             f"deepest node at depth {max(depth.values())}",
             "operators: " + ", ".join(f"{k} {v}" for k, v in sorted(
                 Counter(n["operator"] or "?" for n in children).items())),
             "parents picked (node: children): " + ", ".join(
                 f"{k}: {v}" for k, v in sorted(Counter(n["parent_id"] for n in children).items())),
             "invalid or failed children by reason: " + (", ".join(
                 f"{k!r} {v}" for k, v in reasons.most_common()) or "none")]
    for split in ("validation", "held_out"):
        done = [e for e in status["evaluations"] if e["split"] == split]
        errors = sum((e["reason"] or "").startswith("evaluation error") for e in done)
        lines.append(f"{split} evaluations: {len(done)}, resolved "
                     f"{sum(bool(e['resolved']) for e in done)}, sandbox errors {errors}")
    held = [n for n in nodes.values() if n["held_out_tasks"]]
    best_held = max((n["held_out_score"] for n in held), default=None)
    report = status["report"] or {}
    lines.append(f"best held-out score {score(best_held)} (the pick: node "
                 f"{report.get('best_id', '-')}; best by validation: node {status['best_id']})")
    lines.append("node parent depth lineage operator        status     valid  tasks held-out "
                 "skills")
    for node in sorted(nodes.values(), key=lambda n: n["id"]):
        second = f"+{node['second_parent_id']}" if node["second_parent_id"] else ""
        status = f"copy:{node['copy_of']}" if node.get("copy_of") else node["status"]
        skills = "+".join(skills_of(repo, node["commit"])) or "none"
        lines.append(f"{node['id']:4} {str(node['parent_id']) + second:>6} {depth[node['id']]:5} "
                     f"{str(lineage[node['id']] or '-'):>7} {node['operator'] or 'seed':15} "
                     f"{status:10} {score(node['score']):>5} {node['evaluated_tasks']:6} "
                     f"{score(node['held_out_score']):>8} {skills}")
    return lines

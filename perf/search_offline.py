"""Search on the offline landscape: dgm, hgm, greedy and random with the real loop.

Each selector runs `agentforge evolve` on examples/offline-landscape.toml (real sandboxes,
the scripted model over HTTP) under the same budget, finalists re-scored on held-out tasks.
Prints, per selector: nodes, invalid children, the top held-out score, and the validation
evaluations, tokens and wall seconds spent until the first node with that score finished
its validation; then each operator's children, gain and gain per cost (from the ledger and
the operator events, agentforge/evolve/operators/stats.py).

    python perf/search_offline.py --iterations 30 [--selectors dgm hgm] [--out runs/search]
    python perf/search_offline.py --no-run --out runs/search  # the figures of runs already there
    python perf/search_offline.py --describe runs/landscape   # the shape of one run's archive
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from agentforge.evolve.operators.stats import OperatorStats, operator_stats
from agentforge.evolve.report.status import run_status
from agentforge.evolve.rundir import RunDir
from agentforge.examples.offline_landscape import SKILLS
from agentforge.llm.ledger import Ledger, ModelCall

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "offline-landscape.toml"


def run(selector: str, run_dir: Path, iterations: int, extra: list[str]) -> float:
    """One evolve process; returns its wall seconds."""
    sets = [f"selection.name={selector}", f"budget.max_iterations={iterations}", *extra]
    command = [sys.executable, "-m", "agentforge", "evolve", "--config", str(CONFIG),
               "--run-dir", str(run_dir), "--quiet", *[a for s in sets for a in ("--set", s)]]
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT)
    return time.monotonic() - started


def reached(run_dir: Path) -> dict:
    """The top held-out score and what was spent until a node with it was validated."""
    rundir = RunDir(run_dir)
    config, store = rundir.load_config(), rundir.open_store()
    try:
        run_id = rundir.run_id(store)
        bench = config.benchmark
        held = {s.id: s.score for s in store.node_summaries(run_id, split=bench.held_out_split)
                if s.evaluated_tasks}
        nodes = store.list_nodes(run_id)
        top = max(held.values(), default=None)
        validation = sorted((e for e in store.list_evaluations(run_id, finished=True,
                                                              split=bench.validation_split)),
                            key=lambda e: e.finished_at)
        winners = [n for n in nodes if top is not None and held.get(n.id) == top]
        done_at = min((max((e.finished_at for e in validation if e.node_id == n.id),
                           default=n.created_at) for n in winners), default=None)
        evaluations = sum(1 for e in validation if done_at and e.finished_at <= done_at)
        calls = Ledger(store.engine).calls(run_id=run_id)
        tokens = sum(c.prompt_tokens + c.completion_tokens for c in calls
                     if not c.cached and done_at and _naive(c) <= _naive_at(done_at))
        stats = operator_stats(store, Ledger(store.engine), run_id, bench.validation_split)
        return {"nodes": len(nodes), "invalid": sum(n.status.value == "invalid" for n in nodes),
                "top": top, "evaluations": evaluations, "tokens": tokens, "operators": stats,
                "seconds": (done_at - nodes[0].created_at).total_seconds() if done_at else None}
    finally:
        store.close()


def _naive(call: ModelCall):
    return call.created_at.replace(tzinfo=None)


def _naive_at(moment):
    return moment.replace(tzinfo=None)


def _row(name: str, data: dict, wall: float | None) -> str:
    top = "-" if data["top"] is None else f"{data['top']:.2f}"
    seconds = "-" if data["seconds"] is None else f"{data['seconds']:.0f}"
    walled = "-" if wall is None else f"{wall:.0f}"
    return (f"{name:8} {data['nodes']:5} {data['invalid']:7} {top:>9} {data['evaluations']:11} "
            f"{data['tokens']:9} {seconds:>9} {walled:>7}")


def _operator_rows(name: str, stats: dict[str, OperatorStats]) -> list[str]:
    return [f"{name:8} {op:16} {s.children:8} {s.valid:5} {s.gain:6.2f} {s.tokens:9} "
            f"{s.seconds:8.0f} {s.gain_per_cost:12.3f}" for op, s in sorted(stats.items())]


def describe(run_dir: Path) -> list[str]:
    """The shape of a run's archive: lineages, invalid children, operators, the selector's
    picks, and the landscape skills of the best agents (from `status --json` and the repo)."""
    status = run_status(run_dir, evaluations=True)
    nodes = {n["id"]: n for n in status["nodes"]}
    root = min(nodes)
    depth = {root: 0}
    for node_id in sorted(nodes):
        if nodes[node_id]["parent_id"] is not None:
            depth[node_id] = depth[nodes[node_id]["parent_id"]] + 1
    lineage = {root: None}
    for node_id in sorted(nodes):
        parent = nodes[node_id]["parent_id"]
        if parent is not None:
            lineage[node_id] = node_id if parent == root else lineage[parent]
    repo = RunDir(run_dir).open_repo()

    def skills(node: dict) -> str:
        text = repo.read_file(node["commit"], "coding_agent/config.toml") if node["commit"] \
            else None
        found = [name for name, skill in SKILLS.items() if text and skill.marker in text]
        return "+".join(found) or "none"

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
    lines.append(f"best held-out score {score(best_held)} (best by validation: node "
                 f"{status['best_id']})")
    lines.append("node parent depth lineage operator        status     valid  tasks held-out "
                 "skills")
    for node in sorted(nodes.values(), key=lambda n: n["id"]):
        second = f"+{node['second_parent_id']}" if node["second_parent_id"] else ""
        lines.append(f"{node['id']:4} {str(node['parent_id']) + second:>6} {depth[node['id']]:5} "
                     f"{str(lineage[node['id']] or '-'):>7} {node['operator'] or 'seed':15} "
                     f"{node['status']:10} {score(node['score']):>5} {node['evaluated_tasks']:6} "
                     f"{score(node['held_out_score']):>8} {skills(node)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--describe", type=Path, default=None, metavar="RUN_DIR",
                        help="print the shape of this run's archive and run nothing")
    parser.add_argument("--selectors", nargs="+", default=["dgm", "hgm", "greedy", "random"])
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="extra config overrides for every run (KEY=VALUE)")
    parser.add_argument("--no-run", action="store_true",
                        help="only print the figures of the runs already in --out (one "
                             "directory per selector; their wall time is not known)")
    args = parser.parse_args()
    if args.describe:
        print("\n".join(describe(args.describe)))
        return
    if args.no_run and args.out is None:
        parser.error("--no-run reads the runs in --out: name it")
    out = args.out or Path(tempfile.mkdtemp(prefix="agentforge-search-"))
    results = {}
    for selector in args.selectors:
        run_dir = out / selector
        if args.no_run and not RunDir(run_dir).exists():
            print(f"{selector}: no run in {run_dir}", file=sys.stderr)
            continue
        wall = None if args.no_run else run(selector, run_dir, args.iterations, args.sets)
        results[selector] = (reached(run_dir), wall)
    budget = "as each was run" if args.no_run else f"{args.iterations} iterations each"
    print(f"same budget: {budget}; runs in {out}")
    print("selector nodes invalid top-held evals-to-top tokens-to-top secs-to-top wall-s")
    for name, (data, wall) in results.items():
        print(_row(name, data, wall))
    print("\nselector operator         children valid   gain    tokens  seconds  gain/Mcost")
    for name, (data, _) in results.items():
        print("\n".join(_operator_rows(name, data["operators"])))


if __name__ == "__main__":
    main()

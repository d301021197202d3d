"""Search on the offline landscape: dgm, hgm, greedy and random with the real loop.

Each selector runs `agentforge evolve` on examples/offline-landscape.toml (real sandboxes,
the scripted model over HTTP) under the same budget, finalists re-scored on held-out tasks.
Prints, per selector: nodes, invalid children, the top held-out score, and the validation
evaluations, tokens and wall seconds spent until the first node with that score finished
its validation; then each operator's children, gain and gain per cost (from the ledger and
the operator events, agentforge/evolve/operators/stats.py).

    python perf/search_offline.py --iterations 30 [--selectors dgm hgm] [--out runs/search]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentforge.evolve.operators.stats import OperatorStats, operator_stats
from agentforge.evolve.rundir import RunDir
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


def _row(name: str, data: dict, wall: float) -> str:
    top = "-" if data["top"] is None else f"{data['top']:.2f}"
    seconds = "-" if data["seconds"] is None else f"{data['seconds']:.0f}"
    return (f"{name:8} {data['nodes']:5} {data['invalid']:7} {top:>9} {data['evaluations']:11} "
            f"{data['tokens']:9} {seconds:>9} {wall:7.0f}")


def _operator_rows(name: str, stats: dict[str, OperatorStats]) -> list[str]:
    return [f"{name:8} {op:16} {s.children:8} {s.valid:5} {s.gain:6.2f} {s.tokens:9} "
            f"{s.seconds:8.0f} {s.gain_per_cost:12.3f}" for op, s in sorted(stats.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--selectors", nargs="+", default=["dgm", "hgm", "greedy", "random"])
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="extra config overrides for every run (KEY=VALUE)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="agentforge-search-"))
    results = {}
    for selector in args.selectors:
        run_dir = out / selector
        wall = run(selector, run_dir, args.iterations, args.sets)
        results[selector] = (reached(run_dir), wall)
    print(f"same budget: {args.iterations} iterations each; runs in {out}")
    print("selector nodes invalid top-held evals-to-top tokens-to-top secs-to-top wall-s")
    for name, (data, wall) in results.items():
        print(_row(name, data, wall))
    print("\nselector operator         children valid   gain    tokens  seconds  gain/Mcost")
    for name, (data, _) in results.items():
        print("\n".join(_operator_rows(name, data["operators"])))


if __name__ == "__main__":
    main()

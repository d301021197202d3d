"""Grading time of this checkout against a baseline revision, on the local suite's
reference solutions, as a ratio measured in one run.

    python perf/grading_references.py [--baseline main] [--ids a,b] [--rounds 1]

The baseline's `agentforge/`, `benchmarks/` and `sandboxes/` are exported with `git
archive` into a temporary folder (the repository is not touched). Two worker processes,
one per side, each import their own agentforge; every task is graded by both in turn (the
order alternating), so both sides share the machine's load. Prints per-task seconds and
outcomes, the sums, and current / baseline. Both sides must use already built images
(`agentforge images build`); the sandbox sources must match for that.

It needs no fetched data: the local suite ships with agentforge (`benchmarks/local`).
Agreement with the plain toolchains on real exercises is `scripts/polyglot_agreement.py`,
which needs a Polyglot checkout (`agentforge bench fetch polyglot` clones it; the figures
in agentforge/bench/README.md are at its commit 7e0611e).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
WORKER = """
import json, sys, time
from agentforge.bench import get_benchmark
from agentforge.bench.task import Prediction
bench = get_benchmark("local")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    task = bench.task(line.strip())
    start = time.monotonic()
    result = bench.grade(task, Prediction(instance_id=task.instance_id,
                                          model_patch=task.reference_patch or ""))
    print(json.dumps({"seconds": time.monotonic() - start, "outcome": result.outcome.value,
                      "reason": result.reason}), flush=True)
"""


def export(revision: str, into: Path) -> str:
    """The baseline's package and data folders; returns its commit."""
    commit = subprocess.run(["git", "rev-parse", revision], cwd=HERE, check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "agentforge", "benchmarks",
                              "sandboxes"], cwd=HERE, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


class Side:
    """A worker process grading with one checkout's agentforge."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=root, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert json.loads(self.process.stdout.readline())["ready"]

    def grade(self, instance_id: str) -> dict:
        self.process.stdin.write(instance_id + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--ids", default="", help="comma-separated task ids (default: all)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from agentforge.bench import get_benchmark

    ids = args.ids.split(",") if args.ids else [t.instance_id for t in
                                                get_benchmark("local").tasks()]
    with tempfile.TemporaryDirectory(prefix="grading-baseline-") as scratch:
        commit = export(args.baseline, Path(scratch))
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True,
                              text=True).stdout.strip()
        print(f"baseline {commit[:12]} ({args.baseline}), current {head[:12]} "
              f"(+ uncommitted changes, if any), {len(ids)} tasks x {args.rounds} rounds, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        sides = {"baseline": Side(Path(scratch)), "current": Side(HERE)}
        totals = {"baseline": 0.0, "current": 0.0}
        start = time.monotonic()
        for round_number in range(args.rounds):
            for index, instance_id in enumerate(ids):
                order = ["baseline", "current"]
                if (index + round_number) % 2:
                    order.reverse()
                row = {}
                for name in order:
                    row[name] = sides[name].grade(instance_id)
                    totals[name] += row[name]["seconds"]
                print(f"  {instance_id:<30} baseline {row['baseline']['seconds']:5.1f}s "
                      f"{row['baseline']['outcome']:<10} current {row['current']['seconds']:5.1f}s "
                      f"{row['current']['outcome']:<10}", flush=True)
        for side in sides.values():
            side.close()
    print(f"\nsum: baseline {totals['baseline']:.0f} s, current {totals['current']:.0f} s, "
          f"current / baseline = {totals['current'] / totals['baseline']:.2f} "
          f"({time.monotonic() - start:.0f} s wall, load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluations per minute with the local executor vs Ray, on this machine with the same workers.

Opens a run of the offline demo (bundled suite, scripted model over real HTTP), then runs the
same evaluations of the seed agent twice with `--workers` threads: through `LocalWorkplace`
(this engine, the run's gateway) and through `RayWorkplace` on a private one-node Ray
cluster (a Ray task per evaluation, the agent's code through the object store, the node's
own gateway, files back as a tar). Also prints Ray's per-job overhead: an empty task's round
trip, and putting the agent's code into the object store and reading it in a task.
Target: Ray >= 0.9x local.

    python perf/ray_overhead.py [--evaluations 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.workplaces.local import LocalWorkplace
from agentforge.evolve.workplaces.ray_driver import RayWorkplace
from agentforge.evolve.workplaces.work import Booking, EvaluationWork, pack_agent

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "offline-demo.toml"


def timed_evaluations(workplace, ctx, node_id: int, tasks: list, workers: int,
                      out_root: Path) -> tuple[float, int]:
    """Wall seconds for every (task) evaluation of the node, and how many were resolved."""
    code = ctx.agent_code(node_id)

    def one(index_task):
        index, task = index_task
        work = EvaluationWork(Booking(ctx.run_id, node_id, f"perf-{out_root.name}-{index}"),
                              ctx.benchmark_spec, task, ctx.config.evaluation.agent_timeout,
                              ctx.config.evaluation.max_trajectory_mb)
        try:
            return int(workplace.evaluate(work, code, out_root / str(index)).resolved)
        except Exception as exc:  # noqa: BLE001 - counted and shown, as the loop records it
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            return 0

    errors: list[str] = []
    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        resolved = sum(pool.map(one, enumerate(tasks)))
    for error in errors:
        print(f"  evaluation error ({out_root.name}): {error}")
    return time.monotonic() - started, resolved


def dispatch_overhead(ray, code: bytes, rounds: int = 20) -> tuple[float, float, float]:
    """Median seconds: an empty task's round trip; put + read of the code in a task; size MiB."""
    empty = ray.remote(num_cpus=0)(lambda: None)
    size = ray.remote(num_cpus=0)(lambda data: len(data))
    ray.get(empty.remote())  # the first call exports the function
    trips, transfers = [], []
    for _ in range(rounds):
        started = time.monotonic()
        ray.get(empty.remote())
        trips.append(time.monotonic() - started)
        started = time.monotonic()
        ray.get(size.remote(ray.put(code)))
        transfers.append(time.monotonic() - started)
    return statistics.median(trips), statistics.median(transfers), len(code) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = load_run_config(EXAMPLE, [f"evaluation.workers={args.workers}"])
    with tempfile.TemporaryDirectory(prefix="agentforge-ray-perf-") as tmp, \
            open_run(Path(tmp) / "run", config) as ctx:
        seed = ctx.store.list_nodes(ctx.run_id)[0].id
        tasks = [ctx.validation[i % len(ctx.validation)] for i in range(args.evaluations)]
        local_s, local_ok = timed_evaluations(LocalWorkplace(ctx.gateway), ctx, seed, tasks,
                                              args.workers, Path(tmp) / "local")
        ray_config = config.model_copy(update={"evaluation": config.evaluation.model_copy(
            update={"executor": "ray", "ray_address": None})})
        started = time.monotonic()
        ray_place = RayWorkplace(ray_config, ctx.run_id, ctx.rundir.store_url)
        startup = time.monotonic() - started
        try:
            # One untimed job per worker first: Ray starts its worker processes on demand.
            timed_evaluations(ray_place, ctx, seed, tasks[:args.workers], args.workers,
                              Path(tmp) / "warm")
            ray_s, ray_ok = timed_evaluations(ray_place, ctx, seed, tasks, args.workers,
                                              Path(tmp) / "ray")
            trip, transfer, mib = dispatch_overhead(ray_place.ray,
                                                    pack_agent(ctx.agent_code(seed).folder))
        finally:
            ray_place.close()
    local_rate, ray_rate = 60 * args.evaluations / local_s, 60 * args.evaluations / ray_s
    print(f"evaluations:              {args.evaluations} of the seed, {args.workers} workers")
    print(f"local executor:           {local_rate:6.2f} evaluations/min  ({local_s:.1f} s, "
          f"{local_ok} resolved)")
    print(f"ray (one node):           {ray_rate:6.2f} evaluations/min  ({ray_s:.1f} s, "
          f"{ray_ok} resolved)")
    print(f"ratio ray/local:          {ray_rate / local_rate:6.2f}  (target >= 0.9: "
          f"{'met' if ray_rate / local_rate >= 0.9 else 'MISSED'})")
    print(f"ray start-up (once):      {startup:6.2f} s")
    print(f"empty task round trip:    {trip * 1000:6.1f} ms (median)")
    print(f"code put + read in task:  {transfer * 1000:6.1f} ms (median, {mib:.2f} MiB tar)")
    if local_ok != ray_ok:
        print(f"WARNING: resolved counts differ (local {local_ok}, ray {ray_ok})")


if __name__ == "__main__":
    main()

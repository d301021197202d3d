"""Held-out re-scoring: the top agents by validation score run the held-out split once."""

from __future__ import annotations

import os
import time
from concurrent.futures import as_completed

from agentforge.evolve.evaluation.job import evaluate_job
from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.rundir import write_json
from agentforge.evolve.selection.base import finalist_ids
from agentforge.progress import long_step
from agentforge.store.records import NodeRow


def finalists(rows: list[NodeRow], top_k: int) -> list[NodeRow]:
    """The best valid, scored nodes by the rule common to every selector (a cautious score,
    so that under hgm a child lucky on its one task does not take a finalist's place)."""
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in finalist_ids(rows, top_k)]


def finalize(ctx: RunContext) -> dict:
    """Evaluate the finalists on every held-out task not yet done; write and return the report."""
    config, store = ctx.config, ctx.store
    split = config.benchmark.held_out_split
    bench = config.benchmark
    chosen = finalists(store.node_rows(ctx.run_id, bench.validation_split, bench.held_out_split),
                       config.finalize.top_k)
    done = {(e.node_id, e.task_id) for e in store.list_evaluations(
        ctx.run_id, finished=True, split=split)}
    jobs = [EvaluationJob(node_id=s.id, task_id=t.instance_id, split=split)
            for s in chosen for t in ctx.held_out if (s.id, t.instance_id) not in done]
    store.add_event(ctx.run_id, "finalize", f"re-scoring nodes {[s.id for s in chosen]} on "
                    f"{len(ctx.held_out)} held-out tasks ({len(jobs)} evaluations to run)")
    _say_phase(ctx, phase="finalize", finalists=[s.id for s in chosen],
               held_out_tasks=len(ctx.held_out))
    try:
        with long_step(f"finalizing: nodes {[s.id for s in chosen]} on {len(ctx.held_out)} "
                       f"held-out tasks ({len(jobs)} evaluations, {config.evaluation.workers} "
                       f"at a time)") as tell, \
                LocalExecutor(config.evaluation.workers, name="agentforge-heldout") as pool:
            futures = {pool.submit(evaluate_job, ctx, job): job for job in jobs}
            for done, future in enumerate(as_completed(futures), 1):
                outcome, job = future.result(), futures[future]
                tell(f"finalizing: {done}/{len(jobs)} done (node {job.node_id}, "
                     f"{job.task_id}: {_verdict(outcome)})")
    finally:
        _say_phase(ctx, phase=None)
    report = build_final_report(ctx, [s.id for s in chosen])
    write_json(ctx.rundir.report_file, report)
    store.add_event(ctx.run_id, "finalized", f"best node {report['best_id']}",
                    data={"finalists": report["finalists"]})
    return report


def _say_phase(ctx: RunContext, **fields) -> None:
    """Tell live.json that this process re-scores finalists (the web view shows it), keeping
    what the loop wrote there (its elapsed time is what --resume continues from)."""
    write_json(ctx.rundir.live_file, {**ctx.rundir.read_live(), "pid": os.getpid(),
                                      "updated_at": time.time(), **fields})


def _verdict(outcome) -> str:
    return "resolved" if outcome.resolved else "skipped" if outcome.skipped else "unresolved"


def build_final_report(ctx: RunContext, finalist_ids: list[int]) -> dict:
    """Both scores of each finalist; the best is the highest held-out score (then validation)."""
    bench = ctx.config.benchmark
    nodes = {row.id: row for row in ctx.store.node_rows(
        ctx.run_id, bench.validation_split, bench.held_out_split)}
    rows = [{"id": i, "parent_id": nodes[i].parent_id, "validation_score": nodes[i].score,
             "validation_tasks": nodes[i].evaluated_tasks,
             "held_out_score": nodes[i].held_out_score,
             "held_out_tasks": nodes[i].held_out_tasks}
            for i in finalist_ids]
    best = max(rows, key=lambda r: (r["held_out_score"] or 0.0, r["validation_score"] or 0.0,
                                    -r["id"]), default=None)
    # Scores are pass@k of the benchmark's attempts: Polyglot's pass@1 (DGM) and pass@2
    # (Aider's headline) are different numbers, so the report names which.
    return {"run_id": ctx.run_id, "metric": f"pass@{ctx.benchmark.max_attempts}",
            "best_id": best["id"] if best else None,
            "held_out_tasks": [t.instance_id for t in ctx.held_out], "finalists": rows}

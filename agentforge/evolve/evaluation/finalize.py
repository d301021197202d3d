"""Held-out re-scoring: the top agents by validation score run the held-out split once, and
each of their held-out evaluations is graded a second time (regrade.py)."""

from __future__ import annotations

import os
import time
from concurrent.futures import as_completed

from agentforge.evolve.evaluation.job import evaluate_job
from agentforge.evolve.evaluation.regrade import regrade_finalists
from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.rundir import write_json
from agentforge.evolve.selection.finalists import Finalist, choose_finalists
from agentforge.progress import long_step
from agentforge.store.records import VALIDATED


def finalists(ctx: RunContext) -> list[Finalist]:
    """The run's finalists by the rule common to every selector (selection/finalists.py),
    told apart by their agents' trees."""
    bench = ctx.config.benchmark
    rows = ctx.store.node_rows(ctx.run_id, bench.validation_split, bench.held_out_split)
    trees = {r.id: ctx.repo.tree_of(r.commit) for r in rows
             if r.commit and r.status in VALIDATED}
    return choose_finalists(rows, ctx.config.finalize.top_k, trees=trees,
                            ties=ctx.config.finalize.ties)


def finalize(ctx: RunContext) -> dict:
    """Evaluate the finalists on every held-out task not yet done; write and return the report."""
    config, store = ctx.config, ctx.store
    split = config.benchmark.held_out_split
    chosen = finalists(ctx)
    done = {(e.node_id, e.task_id) for e in store.list_evaluations(
        ctx.run_id, finished=True, split=split)}
    jobs = [EvaluationJob(node_id=f.id, task_id=t.instance_id, split=split)
            for f in chosen for t in ctx.held_out if (f.id, t.instance_id) not in done]
    store.add_event(ctx.run_id, "finalize", f"re-scoring nodes {[f.id for f in chosen]} on "
                    f"{len(ctx.held_out)} held-out tasks ({len(jobs)} evaluations to run)",
                    data={"why": {f.id: f.why for f in chosen}})
    _say_phase(ctx, phase="finalize", finalists=[f.id for f in chosen],
               held_out_tasks=len(ctx.held_out))
    try:
        with long_step(f"finalizing: nodes {[f.id for f in chosen]} on {len(ctx.held_out)} "
                       f"held-out tasks ({len(jobs)} evaluations, {config.evaluation.workers} "
                       f"at a time)") as tell, \
                LocalExecutor(config.evaluation.workers, name="agentforge-heldout") as pool:
            futures = {pool.submit(evaluate_job, ctx, job): job for job in jobs}
            for done, future in enumerate(as_completed(futures), 1):
                outcome, job = future.result(), futures[future]
                tell(f"finalizing: {done}/{len(jobs)} done (node {job.node_id}, "
                     f"{job.task_id}: {_verdict(outcome)})")
        regrade_finalists(ctx, [s.id for s in chosen])
    finally:
        _say_phase(ctx, phase=None)
    report = build_final_report(ctx, chosen)
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


def build_final_report(ctx: RunContext, chosen: list[Finalist]) -> dict:
    """Both scores of each finalist, why it was chosen and what its two graders disagreed on;
    the best is the highest held-out score (then validation) among finalists whose graders
    agreed."""
    bench = ctx.config.benchmark
    nodes = {row.id: row for row in ctx.store.node_rows(
        ctx.run_id, bench.validation_split, bench.held_out_split)}
    rows = [{"id": f.id, "parent_id": nodes[f.id].parent_id,
             "validation_score": nodes[f.id].score,
             "validation_tasks": nodes[f.id].evaluated_tasks,
             "held_out_score": nodes[f.id].held_out_score,
             "held_out_tasks": nodes[f.id].held_out_tasks, "why": f.why,
             "grading_disagreements": nodes[f.id].grading_disagreements}
            for f in chosen]
    agreed = [r for r in rows if not r["grading_disagreements"]]
    best = max(agreed, key=lambda r: (r["held_out_score"] or 0.0, r["validation_score"] or 0.0,
                                      -r["id"]), default=None)
    # Scores are pass@k of the benchmark's attempts: Polyglot's pass@1 (DGM) and pass@2
    # (Aider's headline) are different numbers, so the report names which.
    return {"run_id": ctx.run_id, "metric": f"pass@{ctx.benchmark.max_attempts}",
            "best_id": best["id"] if best else None,
            "held_out_tasks": [t.instance_id for t in ctx.held_out], "finalists": rows}

"""Held-out re-scoring: the top agents by validation score run the held-out split once, and
each of their held-out evaluations is graded a second time as soon as it has finished
(regrade.py).

Before the finalists are chosen, the top-up (`top_up`) gives more validation tasks to the
agents too thinly evaluated to tell whether they belong among them (selection/finalists.py
`top_up_due`): a round at a time (`top_up_round`: the most hopeful first,
`evaluation.growth.tasks_per_stage` tasks each, until the evaluation workers are full), in
the run's order and within the tasks growth may use, until none is due, none has a task left
or the run's dollars or tokens are spent. A pure function of finished evaluations, so a killed
finalization repeats nothing it finished."""

from __future__ import annotations

import os
import time
from concurrent.futures import as_completed

from agentforge.evolve.evaluation.job import evaluate_job
from agentforge.evolve.evaluation.regrade import Regrading
from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.loop.executor import LocalExecutor
from agentforge.evolve.loop.growth import growth_levels
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.rundir import write_json
from agentforge.evolve.selection.finalists import Finalist, TopUp, choose_finalists, top_up_due
from agentforge.progress import long_step
from agentforge.store.records import VALIDATED


def finalists(ctx: RunContext) -> list[Finalist]:
    """The run's finalists by the rule common to every selector (selection/finalists.py),
    told apart by their agents' trees."""
    rows, trees = _rows_and_trees(ctx)
    return choose_finalists(rows, ctx.config.finalize.top_k, trees=trees,
                            ties=ctx.config.finalize.ties)


def _rows_and_trees(ctx: RunContext):
    bench = ctx.config.benchmark
    rows = ctx.store.node_rows(ctx.run_id, bench.validation_split, bench.held_out_split)
    trees = {r.id: ctx.repo.tree_of(r.commit) for r in rows
             if r.commit and r.status in VALIDATED}
    return rows, trees


def top_up(ctx: RunContext) -> int:
    """Give the thinly evaluated agents that could still be finalists more validation tasks,
    round after round; the number of evaluations run."""
    config, store = ctx.config, ctx.store
    split = config.benchmark.validation_split
    order = [t.instance_id for t in (*ctx.validation, *ctx.validation_pool)]
    order = order[:growth_levels(len(ctx.validation), len(ctx.validation_pool),
                                 config.evaluation.growth)[-1]]
    tried: set[tuple[int, str]] = set()
    _, trees = _rows_and_trees(ctx)  # no node is made while finalizing: one git read each
    bench = config.benchmark
    while True:
        rows = store.node_rows(ctx.run_id, bench.validation_split, bench.held_out_split)
        finished: dict[int, set[str]] = {}
        for e in store.list_evaluations(ctx.run_id, finished=True, split=split):
            finished.setdefault(e.node_id, set()).add(e.task_id)
        due, jobs = top_up_round(
            top_up_due(rows, config.finalize.top_k, trees=trees, ties=config.finalize.ties),
            {r.id: r.copy_of for r in rows}, finished, order, tried,
            per_node=config.evaluation.growth.tasks_per_stage,
            workers=config.evaluation.workers, split=split)
        if not jobs:
            return len(tried)
        ids = [n.id for n in due]
        if (spent := ctx.spent()) is not None:
            store.add_event(ctx.run_id, "top_up", f"no top-up for nodes {ids}: the run's "
                            f"budget is spent ({spent})",
                            data={"nodes": ids, "evaluations": 0, "spent": spent})
            return len(tried)
        store.add_event(ctx.run_id, "top_up", f"validation tasks for nodes {ids} before the "
                        f"finalists are chosen ({len(jobs)} evaluations): "
                        + "; ".join(f"node {n.id}: {n.why}" for n in due),
                        data={"nodes": ids, "evaluations": len(jobs),
                              "why": {n.id: n.why for n in due}})
        _say_phase(ctx, phase="finalize", finalists=[], top_up=ids)
        tried.update((j.node_id, j.task_id) for j in jobs)
        _run_jobs(ctx, jobs, f"topping up nodes {ids} on validation tasks")


def top_up_round(due: list[TopUp], copy_of: dict[int, int | None],
                 finished: dict[int, set[str]], order: list[str], tried: set[tuple[int, str]],
                 *, per_node: int, workers: int, split: str
                 ) -> tuple[list[TopUp], list[EvaluationJob]]:
    """One round of the top-up: the due nodes in order (best hopeful score first), each with
    its next `per_node` unfinished tasks of `order`, until the round fills the evaluation
    workers. One node at a time when its tasks fill them: a node that enters the finalists
    raises the bar, and the next may no longer be due."""
    taken: list[TopUp] = []
    jobs: list[EvaluationJob] = []
    for node in due:
        agent = copy_of.get(node.id) or node.id  # a copy's evaluations are its original's
        # Never the same task twice in one finalization, even if it did not finish.
        tasks = [t for t in order if t not in finished.get(agent, set())
                 and (agent, t) not in tried][:per_node]
        if tasks:
            taken.append(node)
            jobs += [EvaluationJob(node_id=agent, task_id=t, split=split) for t in tasks]
        if len(jobs) >= workers:
            break
    return taken, jobs


def _run_jobs(ctx: RunContext, jobs: list[EvaluationJob], what: str,
              regrade: list[int] | None = None) -> None:
    """Run evaluations `evaluation.workers` at a time, saying how far they are; with
    `regrade`, each held-out evaluation of those nodes is graded a second time as soon as it
    has finished (and any finished before, on a resume), on the same workers."""
    workers = ctx.config.evaluation.workers
    with long_step(f"{what} ({len(jobs)} evaluations, {workers} at a time)") as tell, \
            LocalExecutor(workers, name="agentforge-final") as pool:
        regrading = Regrading(ctx, regrade, pool) if regrade else None
        if regrading:
            regrading.start_due()
        futures = {pool.submit(evaluate_job, ctx, job): job for job in jobs}
        for done, future in enumerate(as_completed(futures), 1):
            outcome, job = future.result(), futures[future]
            tell(f"{what}: {done}/{len(jobs)} done (node {job.node_id}, {job.task_id}: "
                 f"{_verdict(outcome)})")
            if regrading:
                regrading.start_due()
        if regrading:
            regrading.wait(tell)


def finalize(ctx: RunContext) -> dict:
    """Top up, then evaluate the finalists on every held-out task not yet done; write and
    return the report."""
    config, store = ctx.config, ctx.store
    split = config.benchmark.held_out_split
    try:
        if config.finalize.top_up:
            top_up(ctx)
    finally:
        _say_phase(ctx, phase=None, top_up=None)
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
        _run_jobs(ctx, jobs, f"finalizing: nodes {[f.id for f in chosen]} on "
                             f"{len(ctx.held_out)} held-out tasks",
                  regrade=[f.id for f in chosen])
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

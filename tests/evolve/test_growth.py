"""Validation that does not saturate: tied top nodes get tasks beyond the cap, in stages.

The rule by hand (loop/growth.py), then the run's hooks on a real archive (store,
repository, events; no Docker: evaluations are written as workers write them), a resume in
the middle of growing, and hgm, whose per-task decisions the same rule feeds.
"""

from __future__ import annotations

import json

from loop_fixtures import demo_config

from agentforge.evolve.config import GrowthConfig, load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.growth import growth_levels, growth_stages, horizons
from agentforge.evolve.loop.run import EvolutionRun
from agentforge.evolve.selection import EvaluateMore
from agentforge.store.tables import NodeStatus

ORDER = [f"t{i}" for i in range(8)]  # t0..t3 the capped tasks, t4..t7 the pool


def test_levels_are_the_base_then_one_stage_of_the_pool_each():
    assert growth_levels(4, 4, GrowthConfig(tasks_per_stage=2)) == [4, 6, 8]
    assert growth_levels(4, 3, GrowthConfig(tasks_per_stage=2)) == [4, 6, 7]
    assert growth_levels(4, 4, GrowthConfig(tasks_per_stage=2, max_tasks=2)) == [4, 6]
    assert growth_levels(4, 0, GrowthConfig()) == [4]  # no cap: nothing to grow into
    assert growth_levels(4, 4, GrowthConfig(enabled=False)) == [4]


def _done(wins: int, tasks: int = 4) -> dict[str, bool]:
    return {t: i < wins for i, t in enumerate(ORDER[:tasks])}


def test_a_tie_wider_than_the_finalists_grows_and_a_narrow_one_does_not():
    levels = [4, 6, 8]
    finished = {1: _done(2), 2: _done(3), 3: _done(3), 4: _done(3), 5: {"t0": True}}
    (stage,) = growth_stages(finished, ORDER, levels, top_k=2)
    assert (stage.nodes, stage.from_size, stage.size, stage.successes, stage.tie) == \
        ((2, 3, 4), 4, 6, 3, True)
    assert stage.reason(2) == ("validation grows to 6 tasks for nodes 2, 3, 4: 3 nodes tie "
                               "at 3/4, more than the 2 finalists")
    assert growth_stages(finished, ORDER, levels, top_k=3) == []
    # Nothing resolved is no top: a tie at 0 grows nothing.
    assert growth_stages({1: _done(0), 2: _done(0)}, ORDER, levels, top_k=1) == []


def test_the_ceiling_grows_even_one_node_and_stages_follow_while_it_lasts():
    levels = [4, 6, 8]
    perfect = {1: _done(2), 2: _done(4)}
    (stage,) = growth_stages(perfect, ORDER, levels, top_k=3)
    assert (stage.nodes, stage.tie) == ((2,), False)
    assert "resolved every one of their 4 tasks (the ceiling)" in stage.reason(3)
    # Node 2 finished its growth, still perfect: the next stage; node 3 failed one: it stays.
    grown = {2: _done(6, 6), 3: {**_done(4), "t4": False, "t5": True}}
    stages = growth_stages(grown, ORDER, levels, top_k=3)
    assert [(s.size, s.nodes) for s in stages] == [(6, (2, 3)), (8, (2,))]
    assert horizons(stages) == {2: 8, 3: 6}


def _finish(store, node_id: int, task_id: str, resolved: bool) -> None:
    evaluation = store.start_evaluation(node_id, task_id)
    store.finish_evaluation(evaluation.id, resolved=resolved)


def _config(tiny_suite, tmp_path, *extra: str):
    # Three validation tasks, the first two the run's; the third is the pool.
    return load_run_config(demo_config(tmp_path, tiny_suite), [
        "benchmark.max_validation_tasks=2", "evaluation.stages=[{tasks = 2}]",
        "finalize.top_k=1", "evaluation.growth.tasks_per_stage=1", *extra])


def _tied_children(run, loop) -> list[int]:
    """The seed at 1/2 and two children at 2/2: a tie wider than the one finalist."""
    seed = run.store.list_nodes(run.run_id)[0]
    first, second = loop.order
    _finish(run.store, seed.id, first, True)
    _finish(run.store, seed.id, second, False)
    run.store.update_node(seed.id, status=NodeStatus.evaluated)
    children = []
    for _ in range(2):
        child = run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                   status=NodeStatus.evaluated)
        for task in loop.order:
            _finish(run.store, child.id, task, True)
        children.append(child.id)
    return children


def _grow_events(run) -> list[dict]:
    return [{"message": e.message, **json.loads(e.data_json)}
            for e in run.store.list_events(run.run_id) if e.kind == "grow"]


def test_a_saturated_archive_grows_its_tied_nodes_and_the_event_says_why(tiny_suite,
                                                                           tmp_path):
    config = _config(tiny_suite, tmp_path)
    with open_run(tmp_path / "run", config) as run:
        loop = EvolutionRun(run)
        (pool,) = [t.instance_id for t in run.validation_pool]
        assert pool not in loop.order
        children = _tied_children(run, loop)
        jobs = loop._open_jobs()
        assert sorted((j.node_id, j.task_id) for j in jobs) == [(c, pool) for c in children]
        assert {run.store.get_node(c).status for c in children} == {NodeStatus.evaluating}
        (event,) = _grow_events(run)
        assert event["message"] == (f"validation grows to 3 tasks for nodes {children[0]}, "
                                    f"{children[1]}: 2 nodes tie at 2/2, more than the 1 "
                                    "finalists")
        assert (event["size"], event["from"], event["new"]) == (3, 2, children)

        # One grown node fails the pool task: the other is the answer, and both are done.
        for child, resolved in zip(children, (False, True), strict=True):
            _finish(run.store, child, pool, resolved)
            job = next(j for j in jobs if j.node_id == child)
            assert loop.on_evaluation_done(job, _outcome(resolved)) == []
        assert {run.store.get_node(c).status for c in children} == {NodeStatus.evaluated}
        summaries = {s.id: s for s in run.store.node_summaries(run.run_id)}
        assert [summaries[c].evaluated_tasks for c in children] == [3, 3]
        assert len(_grow_events(run)) == 1  # nothing new to say
        # Grown and done: later checks leave the nodes as they are.
        touched = [run.store.get_node(c).updated_at for c in children]
        assert loop._grow() == []
        assert [run.store.get_node(c).updated_at for c in children] == touched


def _outcome(resolved: bool):
    from agentforge.evolve.evaluation.job import EvaluationOutcome

    return EvaluationOutcome(evaluation_id=None, resolved=resolved, reason="")


def test_a_resume_in_the_middle_of_growing_repeats_nothing(tiny_suite, tmp_path):
    config = _config(tiny_suite, tmp_path)
    with open_run(tmp_path / "run", config) as run:
        loop = EvolutionRun(run)
        (pool,) = [t.instance_id for t in run.validation_pool]
        done, killed = _tied_children(run, loop)
        loop._open_jobs()
        _finish(run.store, done, pool, True)  # finished before the kill
        run.store.start_evaluation(killed, pool)  # in flight at the kill

    with open_run(tmp_path / "run") as run:
        assert not run.warnings  # the pool task is one of the run's validation tasks
        loop = EvolutionRun(run)
        jobs = loop._open_jobs()
        # Only the evaluation the kill interrupted runs again; the finished one never does,
        # and the growth is not announced twice.
        assert [(j.node_id, j.task_id) for j in jobs] == [(killed, pool)]
        assert len(_grow_events(run)) == 1
        assert run.store.get_node(done).status == NodeStatus.evaluated


def test_under_hgm_growth_widens_what_the_search_may_evaluate(tiny_suite, tmp_path):
    config = _config(tiny_suite, tmp_path, "selection.name=hgm",
                     "selection.options={alpha = 0.1}")
    with open_run(tmp_path / "run", config) as run:
        loop = EvolutionRun(run)
        (pool,) = [t.instance_id for t in run.validation_pool]
        children = _tied_children(run, loop)
        # hgm decides each task: growth queues nothing, but the tied nodes have a task left.
        assert loop._open_jobs() == []
        assert len(_grow_events(run)) == 1
        views = {v.id: v for v in loop.policy.views(run.store.node_summaries(run.run_id))}
        assert [views[c].tasks_left for c in children] == [1, 1]
        assert views[run.store.list_nodes(run.run_id)[0].id].tasks_left == 0
        # 4 evaluations started on children, 4**0.1 < 2 nodes: one more task, a grown one's.
        action = loop.policy.decide(run.store.node_summaries(run.run_id), True, True)
        assert isinstance(action, EvaluateMore) and action.node_id in children
        (job,) = loop.propose(True, True)
        assert job.task_id == pool

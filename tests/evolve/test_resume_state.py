"""What a resume reads back without running anything: RNG state, open jobs, waiting rules.

No Docker here: the archive is filled through the store as workers would fill it.
"""

from __future__ import annotations

from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.run import EvolutionRun
from agentforge.evolve.selection import rng_state_to_json
from agentforge.store.records import NodeStatus


def _finish(store, node_id: int, task_id: str, resolved: bool) -> None:
    evaluation = store.start_evaluation(node_id, task_id)
    store.finish_evaluation(evaluation.id, resolved=resolved)


def test_a_reopened_run_continues_the_rng_and_replans_open_work(tiny_suite, tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite),
                             ["selection.name=dgm", "evaluation.stages=[{tasks = 3}]"])
    run_dir = tmp_path / "run"
    with open_run(run_dir, config) as run:
        loop = EvolutionRun(run)
        seed = run.store.list_nodes(run.run_id)[0]
        order = loop.order
        # The seed has not finished a task yet: nobody is chosen (it would be blind).
        assert loop.propose(True, True) is None
        _finish(run.store, seed.id, order[0], False)  # dgm skips perfect scores
        run.store.start_evaluation(seed.id, order[1])  # in flight when the process died
        plan = loop.propose(True, True)
        assert (plan.parent_id, plan.operator) == (seed.id, "self_edit")
        state_after_draw = rng_state_to_json(loop.rng)
        # A child that was committed but not yet validated when the process died.
        child = run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                   status=NodeStatus.pending)

    with open_run(run_dir) as run:  # the resume
        loop = EvolutionRun(run)
        assert rng_state_to_json(loop.rng) == state_after_draw
        jobs = loop._open_jobs()
        # The unfinished and the not-yet-started tasks of the seed, never the finished one.
        assert sorted((j.node_id, j.task_id) for j in jobs) == sorted(
            (seed.id, t) for t in order[1:])
        assert run.store.get_node(child.id).status == NodeStatus.pending
        assert run.store.get_run(run.run_id).iterations == 1


def test_hgm_spends_budget_on_one_more_task_of_a_node_when_the_tree_is_big(tiny_suite, tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite), ["selection.name=hgm"])
    with open_run(tmp_path / "run", config) as run:
        loop = EvolutionRun(run)
        order = loop.order
        seed = run.store.list_nodes(run.run_id)[0]
        scored, fresh = (run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                            status=NodeStatus.evaluated) for _ in range(2))
        _finish(run.store, seed.id, order[0], False)
        _finish(run.store, scored.id, order[0], True)
        # N = 1 evaluation started on children (the seed's do not count): 1**0.6 < 3 nodes - 1,
        # so HGM evaluates one more task instead of expanding.
        jobs = loop.propose(True, True)
        assert isinstance(jobs, list) and len(jobs) == 1
        job = jobs[0]
        first_unstarted = {seed.id: order[1], scored.id: order[1], fresh.id: order[0]}
        assert job.task_id == first_unstarted[job.node_id]
        assert loop.policy.busy(job.node_id) == {job.task_id}
        # The claimed task is not handed out twice.
        again = loop.propose(False, True)
        assert again is None or all((j.node_id, j.task_id) != (job.node_id, job.task_id)
                                    for j in again)


def test_under_hgm_a_new_child_runs_its_initial_task_then_waits_for_the_search(tiny_suite,
                                                                                tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite), ["selection.name=hgm"])
    with open_run(tmp_path / "run", config) as run:
        loop = EvolutionRun(run)
        seed = run.store.list_nodes(run.run_id)[0]
        child = run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                   status=NodeStatus.evaluating)
        # initial_evaluations = 1: one task, not the first stage's tasks.
        jobs = loop._next_jobs(child.id)
        assert [(j.node_id, j.task_id) for j in jobs] == [(child.id, loop.order[0])]
        _finish(run.store, child.id, loop.order[0], True)
        loop.policy.release(child.id, loop.order[0])
        assert loop._next_jobs(child.id) == []
        assert run.store.get_node(child.id).status == NodeStatus.evaluated

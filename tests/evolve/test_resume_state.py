"""What a resume reads back without running anything: RNG state, open jobs, waiting rules.

No Docker here: the archive is filled through the store as workers would fill it.
"""

from __future__ import annotations

from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.context import open_run
from agentforge.evolve.loop import EvolutionLoop
from agentforge.evolve.selection import Expand, rng_state_to_json
from agentforge.store.tables import NodeStatus


def _finish(store, node_id: int, task_id: str, resolved: bool) -> None:
    evaluation = store.start_evaluation(node_id, task_id)
    store.finish_evaluation(evaluation.id, resolved=resolved)


def test_a_reopened_run_continues_the_rng_and_replans_open_work(tiny_suite, tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite),
                             ["selection.name=dgm", "evaluation.stages=[{tasks = 3}]"])
    run_dir = tmp_path / "run"
    with open_run(run_dir, config) as run:
        loop = EvolutionLoop(run)
        seed = run.store.list_nodes(run.run_id)[0]
        order = loop.order
        # The seed has not finished a task yet: nobody is chosen (it would be blind).
        assert loop.propose(True, True) is None
        _finish(run.store, seed.id, order[0], False)  # dgm skips perfect scores
        run.store.start_evaluation(seed.id, order[1])  # in flight when the process died
        action = loop.propose(True, True)
        assert action == Expand(seed.id)
        state_after_draw = rng_state_to_json(loop.rng)
        # A child that was committed but not yet validated when the process died.
        child = run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                   status=NodeStatus.pending)

    with open_run(run_dir) as run:  # the resume
        loop = EvolutionLoop(run)
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
        loop = EvolutionLoop(run)
        seed = run.store.list_nodes(run.run_id)[0]
        child = run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                   status=NodeStatus.evaluated)
        _finish(run.store, seed.id, loop.order[0], False)
        _finish(run.store, child.id, loop.order[0], True)
        # 2 evaluations ** 0.6 < 2 nodes: HGM evaluates one more task instead of expanding.
        jobs = loop.propose(True, True)
        assert isinstance(jobs, list) and len(jobs) == 1
        job = jobs[0]
        assert job.node_id in {seed.id, child.id} and job.task_id == loop.order[1]
        assert loop.in_flight[job.node_id] == {loop.order[1]}
        # The claimed task is not handed out twice.
        again = loop.propose(False, True)
        assert again is None or all((j.node_id, j.task_id) != (job.node_id, job.task_id)
                                    for j in again)

"""The finalists of a real run (store, agent repository): distinct agents, each with its
reason in report.json, chosen after a top-up of the thinly evaluated agents (real
evaluations in Docker); the pure rule's cases are in test_selection.py."""

from __future__ import annotations

import pytest
from loop_fixtures import TINY_TASKS, demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.evaluation.finalize import (
    build_final_report,
    finalists,
    finalize,
    top_up_round,
)
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.selection.finalists import TopUp, top_up_due
from agentforge.store.tables import NodeStatus


def _child(run, parent, files: dict[str, str], results: list[bool],
           tasks: list[str] | None = None) -> int:
    parent_node = run.store.get_node(parent)
    commit = run.repo.create_child_files(parent_node.commit, files)
    node = run.store.add_node(run.run_id, parent_id=parent, commit=commit,
                              status=NodeStatus.evaluated)
    _finish(run, node.id, results, tasks)
    return node.id


def _finish(run, node_id: int, results: list[bool], tasks: list[str] | None = None) -> None:
    for index, resolved in enumerate(results):
        task = tasks[index] if tasks else f"task-{index}"
        evaluation = run.store.start_evaluation(node_id, task)
        run.store.finish_evaluation(evaluation.id, resolved=resolved)


def test_finalists_of_a_run_never_share_a_tree(tiny_suite, tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite),
                             ["finalize.top_k=3", "benchmark.validation_split=validation"])
    with open_run(tmp_path / "run", config) as run:
        seed = run.store.list_nodes(run.run_id)[0].id
        line = {"NOTES.md": "a line\n"}
        first = _child(run, seed, line, [True, True, False])
        # Made again from the seed (another step, the same edit): the same agent.
        again = _child(run, seed, line, [True, True, True])
        other = _child(run, first, {"NOTES.md": "another line\n"}, [True, False, False])
        assert run.repo.tree_of(run.store.get_node(first).commit) == \
            run.repo.tree_of(run.store.get_node(again).commit)

        chosen = finalists(run)
        assert [f.id for f in chosen] == [again, other]  # first is `again`'s agent
        assert f"nodes {first} are the same agent, left out" in chosen[0].why

        report = build_final_report(run, chosen)
        assert [row["id"] for row in report["finalists"]] == [again, other]
        assert report["finalists"][1]["why"] == \
            "rank 2: cautious score 0.200 (1/3 validation tasks)"


def test_a_top_up_round_takes_the_most_hopeful_nodes_until_the_workers_are_full():
    # Whoever enters the finalists raises the bar, so a round asks no more than the workers
    # can fill: node 7 (most hopeful) gets its 2 missing tasks, which leaves workers free,
    # so node 8 gets its next 4; node 9 waits for the next round, when it may no longer be
    # due.
    order = [f"t{i}" for i in range(6)]
    due = [TopUp(7, "a"), TopUp(8, "b"), TopUp(9, "c")]
    finished = {7: {"t0", "t1", "t2", "t3"}, 8: {"t0", "t1"}, 9: {"t0"}}
    taken, jobs = top_up_round(due, {}, finished, order, set(), per_node=4, workers=4,
                               split="validation")
    assert [n.id for n in taken] == [7, 8]
    assert [(j.node_id, j.task_id) for j in jobs] == [
        (7, "t4"), (7, "t5"), (8, "t2"), (8, "t3"), (8, "t4"), (8, "t5")]
    # A copy's tasks are its original's; a task tried once in this finalization is not
    # tried again; a node with nothing left is passed over.
    taken, jobs = top_up_round([TopUp(5, "copy"), TopUp(6, "done")], {5: 9, 6: None},
                               {6: set(order)}, order, {(9, "t0")}, per_node=2, workers=8,
                               split="validation")
    assert [n.id for n in taken] == [5]
    assert [(j.node_id, j.task_id) for j in jobs] == [(9, "t1"), (9, "t2")]


@pytest.mark.slow
def test_a_thin_node_is_topped_up_before_the_finalists_are_chosen(agent_image, tiny_suite,
                                                                   tmp_path):
    # The scripted model fixes every tiny task for a working agent. When the search ended the
    # seed was 3/3, a broken child 2/2 (its evaluations so far written here) and a working
    # child 1/1: the finalists would be the seed and the broken child (0.637, 0.556 > 0.431).
    config = load_run_config(demo_config(tmp_path, tiny_suite, seed_solves=tuple(TINY_TASKS)),
                             ["finalize.top_k=2"])
    with open_run(tmp_path / "run", config) as run:
        order = [t.instance_id for t in run.validation]
        seed = run.store.list_nodes(run.run_id)[0].id
        _finish(run, seed, [True] * 3, order)
        run.store.update_node(seed, status=NodeStatus.evaluated)
        broken = _child(run, seed, {"coding_agent/__main__.py": "raise SystemExit(3)\n"},
                        [True, True], order)
        thin = _child(run, seed, {"NOTES.md": "a line\n"}, [True], order)
        assert [f.id for f in finalists(run)] == [seed, broken]

        report = finalize(run)

        def tallies(node_id):
            return {e.task_id: e.resolved for e in run.store.list_evaluations(
                run.run_id, finished=True, node_id=node_id, split="validation")}

        # Real evaluations in Docker: the thin node's two missing tasks (3/3: it is in), then
        # the broken node's last one, due once the bar rose to 0.637 (it fails: it is out).
        assert tallies(thin) == dict.fromkeys(order, True)
        assert tallies(broken) == {order[0]: True, order[1]: True, order[2]: False}
        first, second = [e for e in run.store.list_events(run.run_id) if e.kind == "top_up"]
        assert f"validation tasks for nodes [{thin}] before the finalists are chosen " \
            "(2 evaluations)" in first.message
        assert "1/1 validation tasks: hopeful score 0.902 above 0.556, the cautious score of " \
            f"finalist {broken} (2/2)" in first.message
        assert f"nodes [{broken}]" in second.message and "(1 evaluations)" in second.message
        # 2/3 could still reach 0.637 by its score, but the split has no task left for it.
        assert [d.id for d in top_up_due(run.store.node_rows(run.run_id), 2)] == [broken]
        assert [row["id"] for row in report["finalists"]] == [seed, thin]
        assert report["finalists"][1]["why"].startswith(
            "rank 2: cautious score 0.637 (3/3 validation tasks)")

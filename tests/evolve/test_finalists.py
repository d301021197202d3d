"""The finalists of a real run (store, agent repository): distinct agents, each with its
reason in report.json; the pure rule's cases are in test_selection.py."""

from __future__ import annotations

from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.evaluation.finalize import build_final_report, finalists
from agentforge.evolve.loop.context import open_run
from agentforge.store.tables import NodeStatus


def _child(run, parent, files: dict[str, str], results: list[bool]) -> int:
    parent_node = run.store.get_node(parent)
    commit = run.repo.create_child_files(parent_node.commit, files)
    node = run.store.add_node(run.run_id, parent_id=parent, commit=commit,
                              status=NodeStatus.evaluated)
    for index, resolved in enumerate(results):
        evaluation = run.store.start_evaluation(node.id, f"task-{index}")
        run.store.finish_evaluation(evaluation.id, resolved=resolved)
    return node.id


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

"""A run on DGM's lists: stage order, coverage warnings, and the archive-dependent threshold
as the loop plans it. No Docker: evaluations are written through the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentforge.bench.named_lists import named_lists
from agentforge.evolve.config import load_run_config
from agentforge.evolve.evaluation.finalize import build_final_report
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.run import EvolutionRun
from agentforge.store.records import NodeStatus

# Two exercises of DGM's Polyglot dgm-small, two of dgm-medium, one in neither list.
SMALL, MEDIUM, OTHER = ["go__dominoes", "cpp__all-your-base"], ["rust__wordy",
                                                                "java__satellite"], "python__other"


def write_exercise(root: Path, instance_id: str) -> None:
    language, exercise = instance_id.split("__")
    folder = root / language / "exercises" / "practice" / exercise
    (folder / ".meta").mkdir(parents=True)
    (folder / "solution.txt").write_text("stub\n")
    (folder / "solution_test.txt").write_text("test\n")
    (folder / ".meta" / "config.json").write_text(json.dumps(
        {"files": {"solution": ["solution.txt"], "test": ["solution_test.txt"]}}))


@pytest.fixture
def dgm_run_config(tmp_path) -> Path:
    checkout = tmp_path / "polyglot"
    for instance_id in [*SMALL, *MEDIUM, OTHER]:
        write_exercise(checkout, instance_id)
    script = tmp_path / "model.json"
    script.write_text('{"rules": []}')
    config = tmp_path / "run.toml"
    config.write_text(f"""
[llm.diagnose]
spec = "scripted:{script}"
[llm.agent]
spec = "scripted:{script}"
[benchmark]
name = "polyglot"
source = "{checkout}"
subset = "full"
validation_split = "all"
held_out_subset = "not-dgm-60"
held_out_split = "held_out"
[evaluation]
stages = [{{ subset = "dgm-small" }}, {{ subset = "dgm-medium", min_score = 0.5 }},
          {{ min_score = 0.5, archive_threshold = "second_best" }}]
[selection]
name = "dgm"
""")
    return config


def finish(store, node_id: int, results: dict[str, bool]) -> None:
    for task_id, resolved in results.items():
        evaluation = store.start_evaluation(node_id, task_id, split="all")
        store.finish_evaluation(evaluation.id, resolved=resolved)


def test_a_run_naming_lists_the_data_does_not_hold_warns_with_the_missing_count(
        dgm_run_config, tmp_path):
    config = load_run_config(dgm_run_config, ["benchmark.subset=dgm-60"])
    with open_run(tmp_path / "run", config) as run:
        assert {t.instance_id for t in run.validation[:2]} == set(SMALL)
        assert [s.tasks for s in run.stages] == [2, 4, None]
        warnings = "\n".join(run.warnings)
        assert "subset 'dgm-60' lists 59 ids but the loaded data has only 4: 55 missing" in warnings
        assert "'dgm-small' lists 10 ids but the loaded data has only 2: 8 missing" in warnings
        assert "'dgm-medium' lists 50 ids but the loaded data has only 2: 48 missing" in warnings
        events = [e for e in run.store.list_events(run.run_id) if e.kind == "warning"]
        assert len(events) == 3
        assert "held-out tasks are also validation" not in warnings  # not-dgm-60 lies outside


def test_held_out_tasks_that_are_also_validation_tasks_are_warned_about(dgm_run_config,
                                                                        tmp_path):
    config = load_run_config(dgm_run_config, ["benchmark.held_out_subset=full"])
    with open_run(tmp_path / "run", config) as run:
        shared = {t.instance_id for t in run.validation} & {t.instance_id for t in run.held_out}
        assert len(shared) == 4  # the hash split's held-out part of all five exercises
        assert any(w.startswith("4 held-out tasks are also validation tasks")
                   for w in run.warnings)


def test_a_split_that_cuts_a_stage_list_is_warned_about(dgm_run_config, tmp_path):
    config = load_run_config(dgm_run_config, ["benchmark.validation_split=validation"])
    with open_run(tmp_path / "run", config) as run:
        # The hash split holds both dgm-small exercises out and keeps one of dgm-medium's.
        assert [t.instance_id for t in run.validation] == ["rust__wordy"]
        stage_warnings = [w for w in run.warnings if 'validation_split = "all"' in w]
        assert len(stage_warnings) == 2
        assert "stage 'dgm-small' evaluates 0 of the list's 2 loaded tasks" in stage_warnings[0]
        assert "stage 'dgm-medium' evaluates 1 of the list's 2 loaded tasks" in stage_warnings[1]


def test_the_loop_enters_the_last_stage_only_above_the_archives_second_best(
        dgm_run_config, tmp_path):
    config = load_run_config(dgm_run_config)
    with open_run(tmp_path / "run", config) as run:
        order = [t.instance_id for t in run.validation]
        assert set(order[:2]) == set(SMALL) and set(order[2:4]) == set(MEDIUM)
        assert order[4] == OTHER
        loop = EvolutionRun(run)
        store, seed = run.store, run.store.list_nodes(run.run_id)[0]

        def node(results: dict[str, bool]) -> int:
            child = store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                   status=NodeStatus.evaluating)
            finish(store, child.id, results)
            return child.id

        # Fully evaluated: 5/5 = 1.0 and 3/5 = 0.6, so the second best is 0.6.
        node({t: True for t in order})
        node({t: i < 3 for i, t in enumerate(order)})
        assert loop._second_best() == pytest.approx(0.6)
        # 3 of 4 = 0.75 >= 0.6: on to the last stage.
        good = node({t: i != 3 for i, t in enumerate(order[:4])})
        assert [j.task_id for j in loop._next_jobs(good)] == [OTHER]
        # 2 of 4 = 0.5: enough for min_score 0.5, not for the archive's 0.6, so it ends.
        fair = node({t: i < 2 for i, t in enumerate(order[:4])})
        assert loop._next_jobs(fair) == []
        assert store.get_node(fair).status == NodeStatus.evaluated
        # 1 of 2 on dgm-small = 0.5: enters dgm-medium (a fixed threshold, no archive).
        started = node({order[0]: True, order[1]: False})
        assert sorted(j.task_id for j in loop._next_jobs(started)) == sorted(MEDIUM)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(("name", "stages"), [
    ("swebench-dgm-api.toml", ["dgm-small", "dgm-medium", "dgm-big"]),
    ("swebench-dgm-vllm.toml", ["dgm-small", "dgm-medium", "dgm-big"]),
    ("polyglot-api.toml", ["dgm-small", "dgm-medium"]),
    ("polyglot-vllm.toml", ["dgm-small", "dgm-medium"]),
])
def test_the_example_configs_follow_dgms_stages_and_say_which_pass_at_k(name, stages):
    config = load_run_config(EXAMPLES / name)
    bench, lists = config.benchmark, named_lists(config.benchmark.name)
    assert [s.subset for s in config.evaluation.stages] == stages
    assert [s.min_score for s in config.evaluation.stages][1:] == [0.4] * (len(stages) - 1)
    assert config.evaluation.stages[-1].archive_threshold == (
        "second_best" if len(stages) == 3 else "none")
    assert bench.validation_split == "all"  # DGM's lists whole, not cut by the hash split
    # The validation subset is the stages' union and the held-out set lies outside it.
    validation = set(lists[bench.subset].ids)
    assert validation == {i for stage in stages for i in lists[stage].ids}
    assert set(lists[bench.held_out_subset].excluded) == validation
    text = (EXAMPLES / name).read_text()
    assert "pass@1" in text
    if bench.name == "polyglot":
        assert bench.options["attempts"] == 1 and "pass@2" in text
        assert bench.options["test_timeout"] == 120


@pytest.mark.parametrize(("attempts", "metric"), [(1, "pass@1"), (2, "pass@2")])
def test_the_run_report_names_which_pass_at_k_its_scores_are(dgm_run_config, tmp_path,
                                                             attempts, metric):
    config = load_run_config(dgm_run_config, [f"benchmark.options={{ attempts = {attempts} }}"])
    with open_run(tmp_path / "run", config) as run:
        assert build_final_report(run, [])["metric"] == metric


def test_a_resume_whose_tasks_lost_evaluated_ones_warns(dgm_run_config, tmp_path):
    config = load_run_config(dgm_run_config)
    with open_run(tmp_path / "run", config) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        finish(run.store, seed.id, {OTHER: True, SMALL[0]: False})
    with open_run(tmp_path / "run") as run:
        assert not any("no longer among" in w for w in run.warnings)
    with open_run(tmp_path / "run", overrides=["benchmark.subset=dgm-60"]) as run:
        assert any(w.startswith("1 tasks this run already evaluated are no longer among its "
                                "validation tasks (e.g. python__other)") for w in run.warnings)

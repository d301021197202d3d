"""Staged evaluation planning: a pure function of the finished evaluations."""

from __future__ import annotations

import pytest

from agentforge.bench.named_lists import named_lists
from agentforge.errors import ConfigError
from agentforge.evolve.config import Stage, build_config
from agentforge.evolve.loop.search import (
    archive_second_best,
    order_for_stages,
    plan_stage,
    required_score,
)

ORDER = [f"t{i}" for i in range(6)]
STAGES = [Stage(tasks=2), Stage(tasks=4, min_score=0.5), Stage(tasks=None, min_score=0.75)]


def test_the_first_stage_comes_first():
    plan = plan_stage({}, ORDER, STAGES)
    assert (plan.task_ids, plan.done, plan.stage) == (["t0", "t1"], False, 0)
    assert plan_stage({"t0": True}, ORDER, STAGES).task_ids == ["t1"]


def test_a_good_score_enters_the_next_stage_and_a_bad_one_ends_it():
    assert plan_stage({"t0": True, "t1": False}, ORDER, STAGES).task_ids == ["t2", "t3"]
    ended = plan_stage({"t0": False, "t1": False}, ORDER, STAGES)
    assert (ended.task_ids, ended.done, ended.stage) == ([], True, 0)


def test_the_last_stage_takes_every_task_and_then_it_is_done():
    two_of_four = {"t0": True, "t1": True, "t2": True, "t3": False}
    assert plan_stage(two_of_four, ORDER, STAGES).task_ids == ["t4", "t5"]
    everything = {t: True for t in ORDER}
    assert plan_stage(everything, ORDER, STAGES).done


def test_stages_larger_than_the_task_list_are_capped():
    plan = plan_stage({}, ["a"], [Stage(tasks=10), Stage(tasks=50)])
    assert plan.task_ids == ["a"]
    assert plan_stage({"a": False}, ["a"], [Stage(tasks=10), Stage(tasks=50)]).done


# -- DGM's stages: lists, a fixed threshold, and one that depends on the archive -------------

DGM_STAGES = [Stage(subset="dgm-small"), Stage(subset="dgm-medium", min_score=0.4),
              Stage(subset="dgm-big", min_score=0.4, archive_threshold="second_best")]


def test_list_stages_become_counts_on_a_stage_by_stage_order():
    subsets = {"small": ["a", "b"], "medium": ["c", "d", "e"], "big": ["f"]}
    stages = [Stage(subset="small"), Stage(subset="medium", min_score=0.4),
              Stage(subset="big", min_score=0.4)]
    order, resolved = order_for_stages(stages, ["e", "a", "f", "x", "c", "b", "d"], subsets)
    assert order == ["a", "b", "e", "c", "d", "f", "x"]  # the run's order kept within a stage
    assert [s.tasks for s in resolved] == [2, 5, 6]
    assert [s.min_score for s in resolved] == [0.0, 0.4, 0.4]
    with pytest.raises(ConfigError, match="valid subsets: small, medium, big"):
        order_for_stages([Stage(subset="huge")], order, subsets)


def test_dgm_stages_on_its_own_lists_are_10_then_60_then_200_tasks():
    lists = named_lists("swebench")
    subsets = {name: list(listed.ids) for name, listed in lists.items()}
    everything = sorted(subsets["dgm-200"])  # Verified rows that hold all of DGM's ids
    order, stages = order_for_stages(DGM_STAGES, everything, subsets)
    assert [s.tasks for s in stages] == [10, 60, 200]
    assert set(order[:10]) == set(subsets["dgm-small"])
    assert set(order[10:60]) == set(subsets["dgm-medium"])
    # 4 of 10 is DGM's 0.4: the agent goes on to dgm-medium; 3 of 10 ends it.
    four = {t: i < 4 for i, t in enumerate(order[:10])}
    assert plan_stage(four, order, stages).task_ids == order[10:60]
    three = {t: i < 3 for i, t in enumerate(order[:10])}
    assert plan_stage(three, order, stages).done
    # 24 of 60 = 0.40: enough for the 0.4 floor, not for an archive whose second best is 0.45.
    sixty = {t: i < 24 for i, t in enumerate(order[:60])}
    assert plan_stage(sixty, order, stages).task_ids == order[60:]
    assert plan_stage(sixty, order, stages, second_best=None).task_ids == order[60:]
    ended = plan_stage(sixty, order, stages, second_best=0.45)
    assert (ended.done, ended.stage) == (True, 1)
    # An archive whose second best is below the floor leaves the floor: 0.3 -> 0.4 needed.
    assert plan_stage(sixty, order, stages, second_best=0.3).task_ids == order[60:]
    assert required_score(stages[2], 0.3) == 0.4 and required_score(stages[2], 0.45) == 0.45
    assert required_score(stages[1], 0.45) == 0.4  # a fixed stage ignores the archive


def test_the_archive_value_is_the_second_best_of_fully_evaluated_nodes():
    stages = [Stage(tasks=2), Stage(tasks=6, archive_threshold="second_best")]
    # (successes, finished): 3/6 = 0.5, 6/6 = 1.0, 4/6 = 0.667; 3/3 has not finished stage 2.
    tallies = [(3, 6), (6, 6), (4, 6), (3, 3)]
    assert archive_second_best(tallies, stages, n_tasks=6) == pytest.approx(4 / 6)
    assert archive_second_best([(3, 6), (3, 3)], stages, n_tasks=6) == 0.5  # the only one
    assert archive_second_best([(3, 3), (0, 0)], stages, n_tasks=6) is None
    # The last stage takes "all": fully evaluated means every task of the run's order.
    assert archive_second_best([(1, 4), (2, 4)], [Stage(tasks=None)], n_tasks=4) == 0.25


def test_a_stage_takes_a_count_or_a_list_not_both():
    with pytest.raises(ValueError, match="not both"):
        Stage(tasks=10, subset="dgm-small")
    config = build_config({"evaluation": {"stages": [
        {"subset": "dgm-small"}, {"subset": "dgm-medium", "min_score": 0.4},
        {"subset": "dgm-big", "min_score": 0.4, "archive_threshold": "second_best"}]}})
    assert config.evaluation.stages == DGM_STAGES
    with pytest.raises(ConfigError, match="name a subset come before"):
        build_config({"evaluation": {"stages": [{"tasks": 1}, {"subset": "dgm-small"}]}})
    with pytest.raises(ConfigError, match="give them different splits"):
        build_config({"benchmark": {"validation_split": "all", "held_out_split": "all"}})
    with pytest.raises(ConfigError, match="archive_threshold"):
        build_config({"evaluation": {"stages": [{"tasks": 1, "archive_threshold": "best"}]}})

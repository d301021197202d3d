"""Staged evaluation planning: a pure function of the finished evaluations."""

from __future__ import annotations

from agentforge.evolve.config import Stage
from agentforge.evolve.evaluate import plan_stage

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

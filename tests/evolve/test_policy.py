"""SearchPolicy: what a free worker starts next, with numbers to check by hand."""

from __future__ import annotations

import random

from agentforge.evolve.config import Stage
from agentforge.evolve.loop.search import SearchPolicy, plan_initial
from agentforge.evolve.selection import EvaluateMore, Expand, NodeView, make_selector

ORDER = [f"t{i}" for i in range(6)]
STAGES = [Stage(tasks=2), Stage(tasks=None, min_score=0.5)]


def policy(name: str, options: dict | None = None, **kwargs) -> SearchPolicy:
    return SearchPolicy(make_selector(name, options), random.Random(0), ORDER, STAGES, **kwargs)


def test_initial_plan_takes_the_first_tasks_then_is_done():
    assert plan_initial({}, ORDER, 1).task_ids == ["t0"]
    assert plan_initial({"t0": False}, ORDER, 1).done
    assert plan_initial({}, ORDER, 0).done
    assert plan_initial({"t0": True}, ORDER, 3).task_ids == ["t1", "t2"]


def test_under_hgm_a_child_gets_its_initial_evaluations_and_the_seed_its_stages():
    hgm = policy("hgm", {"initial_evaluations": 2}, first_task_alone=False)
    child = hgm.next_tasks(2, is_seed=False, finished={})
    assert (child.task_ids, child.finished) == (["t0", "t1"], False)
    # Both back: the child's planned evaluation is over; EvaluateMore decides the rest.
    hgm.release(2, "t0")
    hgm.release(2, "t1")
    assert hgm.next_tasks(2, False, {"t0": True, "t1": True}).finished
    # The seed follows the stages: 2 tasks, then (score 1/2 >= 0.5) the other 4.
    assert hgm.next_tasks(1, True, {}).task_ids == ["t0", "t1"]
    hgm.release(1, "t0")
    hgm.release(1, "t1")
    assert hgm.next_tasks(1, True, {"t0": True, "t1": False}).task_ids == ["t2", "t3", "t4", "t5"]
    # The reference's 0 initial evaluations: the child is `evaluated` at once.
    zero = policy("hgm", {"initial_evaluations": 0})
    assert zero.next_tasks(3, False, {}).finished
    # dgm children go through the stages, first task alone.
    dgm = policy("dgm")
    assert dgm.next_tasks(2, False, {}).task_ids == ["t0"]
    assert dgm.next_tasks(2, False, {}).task_ids == []  # t0 still running
    dgm.release(2, "t0")
    assert dgm.next_tasks(2, False, {"t0": True}).task_ids == ["t1"]


def test_views_count_tasks_in_flight_and_unstarted():
    p = policy("hgm")
    p.claim(1, "t4")
    p.claim(1, "t5")
    (view,) = p.views([NodeView(1, None, successes=2, failures=1)])
    # 6 tasks - 3 finished - 2 running = 1 unstarted.
    assert (view.in_flight, view.tasks_left) == (2, 1)
    p.release(1, "t5")
    assert p.views([NodeView(1, None, successes=2, failures=2)])[0].tasks_left == 1


def test_more_task_skips_finished_and_running_tasks():
    p = policy("hgm")
    p.claim(4, "t1")
    assert p.more_task(4, {"t0": True}) == "t2"
    assert p.busy(4) == {"t1", "t2"}
    assert p.more_task(4, {t: False for t in ORDER[2:]} | {"t0": True}) is None


ARCHIVE = [
    NodeView(1, None, 10, 0),
    NodeView(2, 1, 2, 1, "evaluated"),
    NodeView(3, 1, 0, 3, "evaluated"),
]


def test_hgm_counts_expansions_in_flight_and_evaluates_instead():
    # N = 3 + 3 = 6 started on children; 6**0.6 = 2.93 >= (3 - 1) + 0 -> expand ...
    p = policy("hgm")
    assert isinstance(p.decide(ARCHIVE, True, True), Expand)
    # ... but with one expansion in flight 2.93 < 3: every free worker evaluates.
    p.expansions = 1
    assert isinstance(p.decide(ARCHIVE, True, True), EvaluateMore)
    # Evaluate-more with no free evaluation worker: nothing now.
    assert p.decide(ARCHIVE, True, False) is None
    # Expand wanted, no improve worker free: evaluate instead.
    p.expansions = 0
    assert isinstance(p.decide(ARCHIVE, False, True), EvaluateMore)


def test_a_child_waiting_for_its_first_result_blocks_expansion_only():
    waiting = [*ARCHIVE, NodeView(4, 2, 0, 0, "evaluating")]
    assert policy("dgm").decide(waiting, True, True) is None
    assert isinstance(policy("hgm").decide(waiting, True, True), EvaluateMore)
    assert isinstance(policy("dgm", wait_for_unscored=False).decide(waiting, True, True), Expand)

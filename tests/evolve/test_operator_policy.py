"""The operator of each step is drawn from the run's saved RNG in the loop's own `propose`,
recorded with the step, and a resumed run continues the very same sequence of choices."""

from __future__ import annotations

import json

import pytest
from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.run import EvolutionRun
from agentforge.evolve.step import StepPlan
from agentforge.store.records import NodeStatus

MIX = ("improve.operators={self_edit = 0.4, prompt_mutation = 0.3, crossover = 0.3}",
       "selection.name=random")


def _scored_archive(run) -> None:
    """The seed and two children, each with finished evaluations (so crossover has mates)."""
    seed = run.store.list_nodes(run.run_id)[0]
    nodes = [seed] + [run.store.add_node(run.run_id, parent_id=seed.id, commit=seed.commit,
                                         status=NodeStatus.evaluated) for _ in range(2)]
    for node, solved in zip(nodes, (1, 2, 3), strict=True):
        for i, task in enumerate(("py-tiny-add", "py-tiny-greet", "py-tiny-double")):
            evaluation = run.store.start_evaluation(node.id, task, split="validation")
            run.store.finish_evaluation(evaluation.id, resolved=i < solved, reason="graded")


def _propose(run, steps: int) -> list[tuple[int, dict]]:
    loop = EvolutionRun(run)
    made = []
    for _ in range(steps):
        plan = loop.propose(True, True)
        assert isinstance(plan, StepPlan)
        made.append(plan)
    events = [json.loads(e.data_json) for e in run.store.list_events(run.run_id)
              if e.kind == "expand"][-steps:]
    # The event records the plan; step ids are random (they draw nothing from the RNG).
    assert [e.pop("step_id") for e in events] == [plan.step_id for plan in made]
    return [(plan.parent_id, event) for plan, event in zip(made, events, strict=True)]


@pytest.mark.parametrize("policy", ["mix", "bandit"])
def test_the_operator_choice_is_recorded_and_survives_resume(tiny_suite, tmp_path, policy):
    config = load_run_config(demo_config(tmp_path, tiny_suite),
                             [*MIX, f"improve.operator_policy={policy}"])
    with open_run(tmp_path / "straight", config) as run:
        _scored_archive(run)
        straight = _propose(run, 8)
    with open_run(tmp_path / "resumed", config) as run:
        _scored_archive(run)
        resumed = _propose(run, 3)
    with open_run(tmp_path / "resumed") as run:  # a new process: the RNG comes from the archive
        resumed += _propose(run, 5)
    assert resumed == straight
    operators = {plan["operator"] for _, plan in straight}
    assert {"self_edit", "prompt_mutation", "crossover"} <= operators
    for parent, plan in straight:
        if plan["operator"] == "crossover":
            assert plan["second_parent_id"] not in (None, parent)
        else:
            assert plan["second_parent_id"] is None


def test_the_default_policy_plans_self_edits_and_draws_only_the_evidence(tiny_suite, tmp_path):
    config = load_run_config(demo_config(tmp_path, tiny_suite), ["selection.name=random"])
    with open_run(tmp_path / "run", config) as run:
        _scored_archive(run)
        plans = _propose(run, 4)
        state = run.store.get_run(run.run_id).rng_state
    assert [p["operator"] for _, p in plans] == ["self_edit"] * 4
    # Each plan carries its own draw of the failures shown (a parent chosen twice is shown
    # two samples), recorded with the plan.
    assert len({p["evidence_seed"] for _, p in plans}) == 4
    # The same draws with no operator policy at all: the selector's, then the evidence's.
    import random

    from agentforge.evolve.selection import make_selector, rng_state_to_json

    rng, selector = random.Random(config.seed), make_selector("random", {})
    with open_run(tmp_path / "run") as run:
        loop = EvolutionRun(run)
        views = loop.policy.views(run.store.node_summaries(run.run_id, split=loop.split))
    for _, plan in plans:
        selector.next_action(views, rng)
        assert rng.getrandbits(32) == plan["evidence_seed"]
    assert state == rng_state_to_json(rng)


def test_a_step_that_crashes_becomes_a_failed_node_of_its_operator(tiny_suite, tmp_path):
    from agentforge.evolve.loop.scheduler import Failure
    from agentforge.store.errors import StoreError

    config = load_run_config(demo_config(tmp_path, tiny_suite),
                             ["improve.operators={crossover = 1}"])
    with open_run(tmp_path / "run", config) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        evaluation = run.store.start_evaluation(seed.id, "py-tiny-add")
        run.store.finish_evaluation(evaluation.id, resolved=True, reason="graded")
        ghost = run.store.add_node(run.run_id, parent_id=seed.id, commit="0" * 40,
                                   status=NodeStatus.evaluated)  # its commit is not in the repo
        loop = EvolutionRun(run)
        views = loop.policy.views(run.store.node_summaries(run.run_id, split=loop.split))
        plan = loop.operators.plan(ghost.id, views, loop.rng)
        assert (plan.operator, plan.second_parent_id) == ("crossover", seed.id)
        with pytest.raises(StoreError) as crash:
            loop.operators.run(plan)
        loop.on_improvement_done(plan, Failure(crash.value, "traceback"))
        failed = run.store.list_nodes(run.run_id)[-1]
    assert (failed.parent_id, failed.status, failed.operator, failed.second_parent_id,
            failed.step_id) == (ghost.id, NodeStatus.failed, "crossover", seed.id, plan.step_id)
    assert "self-improvement crashed" in failed.reason

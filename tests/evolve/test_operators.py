"""Each operator makes a child validated like any other, in real sandboxes, with the scripted
model over real HTTP: a prompt mutation from failures on several tasks, one that breaks the
agent (invalid, with the reason), a crossover, a crossover conflict, and the wrapped self-edit.
"""

from __future__ import annotations

import json
import random

import pytest
from loop_fixtures import demo_config
from operator_fixtures import BASE_CONFIG, add_rules, coder_system_with_checklist, mutation_rule

from agentforge.evolve.config import load_run_config
from agentforge.evolve.evaluation.job import evaluate_job
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.scheduler import EvaluationJob
from agentforge.evolve.operators.genome import GenomeError, merge_genomes, replace_text
from agentforge.evolve.operators.planner import OPERATORS, second_parent
from agentforge.evolve.operators.stats import operator_stats
from agentforge.evolve.report.status import run_status
from agentforge.evolve.selection.base import NodeView
from agentforge.evolve.step import StepPlan
from agentforge.examples.offline_demo import MARKER
from agentforge.store.records import NodeStatus

pytestmark = pytest.mark.slow
VALIDATION = ["py-tiny-add", "py-tiny-greet", "py-tiny-double"]


def made(run, operator: str, parent_id: int, second_parent_id: int | None = None) -> int:
    """The node a step of `operator` made (planned as the loop plans one)."""
    plan = StepPlan.new(parent_id, operator, second_parent_id)
    return OPERATORS[operator](run, plan).node_id


def _config(tmp_path, suite, *rules):
    path = demo_config(tmp_path, suite, seed_solves=("py-tiny-add",))
    add_rules(tmp_path / "model.json", *rules)
    return load_run_config(path, ["improve.diagnose_attempts=2"])


def _evaluate(run, node_id):
    return [evaluate_job(run, EvaluationJob(node_id=node_id, task_id=t)).resolved
            for t in VALIDATION]


def test_a_prompt_mutation_rewrites_the_genome_from_failures_on_several_tasks(
        agent_image, tiny_suite, tmp_path):
    # The scripted optimizer answers only when it is shown both failed tasks at once.
    rule = mutation_rule({"prompts.coder_system": coder_system_with_checklist()},
                         needs=["## Task py-tiny-greet", "## Task py-tiny-double"])
    with open_run(tmp_path / "run", _config(tmp_path, tiny_suite, rule)) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        assert _evaluate(run, seed.id) == [True, False, False]
        child_id = made(run, "prompt_mutation", seed.id)
        child = run.store.get_node(child_id)
        assert (child.status, child.operator, child.reason) == \
            (NodeStatus.evaluating, "prompt_mutation", None)
        patch = run.repo.patch(child.commit)
        assert "coding_agent/config.toml" in patch and f"+{MARKER}" in patch
        assert patch.count("diff --git") == 1
        assert not (run.rundir.node_dir(child_id) / "improve").exists()  # no agent run
        assert _evaluate(run, child_id) == [True, True, True]
        calls = run.ledger.calls(run_id=run.run_id, task_id="op:prompt_mutation")
        assert len(calls) == 1 and calls[0].role == "diagnose"
        proposal = json.loads(child.proposal_json)
        assert proposal["tasks"] == ["py-tiny-double", "py-tiny-greet"]
        stats = operator_stats(run.store, run.ledger, run.run_id)
        assert stats["prompt_mutation"].gain == pytest.approx(2 / 3)
    nodes = {n["id"]: n for n in run_status(tmp_path / "run")["nodes"]}
    assert (nodes[child_id]["operator"], nodes[child_id]["second_parent_id"]) == \
        ("prompt_mutation", None)
    assert nodes[seed.id]["operator"] is None


def test_a_prompt_mutation_that_breaks_the_agent_is_invalid_with_the_reason(
        agent_image, tiny_suite, tmp_path):
    # The conductor's prompt without its reply syntax: the agent's own code refuses it.
    broken = mutation_rule({"prompts.conductor_system": "You conduct experts. Be brief."})
    with open_run(tmp_path / "run", _config(tmp_path, tiny_suite, broken)) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        child = run.store.get_node(made(run, "prompt_mutation", seed.id))
    assert child.status == NodeStatus.invalid and child.operator == "prompt_mutation"
    assert child.reason.startswith("own tests fail") and "FAILED tests/test_" in child.reason


def test_a_mutation_naming_no_text_of_the_genome_is_retried_then_failed(tiny_suite, tmp_path):
    bad = mutation_rule({"prompts.does_not_exist": "Anything."})
    with open_run(tmp_path / "run", _config(tmp_path, tiny_suite, bad)) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        child = run.store.get_node(made(run, "prompt_mutation", seed.id))
        calls = run.ledger.calls(run_id=run.run_id, task_id="op:prompt_mutation")
    assert child.status == NodeStatus.failed and child.commit is None
    assert "'prompts.does_not_exist' is not an editable text" in child.reason
    assert len(calls) == 2  # the first reply and one retry


def _child(run, parent, edit, *, text_path=None, text=None, files=None):
    """A node whose commit is its parent's with a genome text and/or whole files replaced."""
    config = "coding_agent/config.toml"
    changes = dict(files or {})
    if text_path:
        changes[config] = replace_text(run.repo.read_file(parent.commit, config), text_path,
                                       text)
    commit = run.repo.create_child_files(parent.commit, changes)
    return run.store.add_node(run.run_id, parent_id=parent.id, commit=commit,
                              status=NodeStatus.evaluated, proposal={"summary": edit})


def test_crossover_merges_the_second_parents_change_or_reports_the_conflict(
        agent_image, tiny_suite, tmp_path):
    with open_run(tmp_path / "run", _config(tmp_path, tiny_suite)) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        readme = run.repo.read_file(seed.commit, "README.md")
        first = _child(run, seed, "a", text_path="prompts.coder_system",
                       text=coder_system_with_checklist(),
                       files={"README.md": "# first\n" + readme})
        second = _child(run, seed, "b", text_path="experts.Reviewer.system",
                        text="Check every edge case.")
        merged = run.store.get_node(made(run, "crossover", first.id, second.id))
        assert (merged.status, merged.operator, merged.parent_id, merged.second_parent_id) == \
            (NodeStatus.evaluating, "crossover", first.id, second.id)
        patch = run.repo.patch(merged.commit)  # against the first parent: the second's change
        assert "+system = \"Check every edge case.\"" in patch and MARKER not in patch
        assert run.repo.parent_of(merged.commit) == first.commit

        # Both rewrote the coder's prompt: the genome is merged text by text, both lines kept.
        extra = coder_system_with_checklist().replace(MARKER, "SECOND-HABIT")
        rival = _child(run, seed, "c", text_path="prompts.coder_system", text=extra)
        both = run.store.get_node(made(run, "crossover", first.id, rival.id))
        assert both.status == NodeStatus.evaluating, both.reason
        config = run.repo.read_file(both.commit, "coding_agent/config.toml")
        assert MARKER in config and "SECOND-HABIT" in config

        # The same file's same lines changed two ways outside the genome: a conflict.
        clash = _child(run, seed, "d", files={"README.md": "# second\n" + readme})
        conflict = run.store.get_node(made(run, "crossover", first.id, clash.id))
        assert (conflict.status, conflict.commit, conflict.second_parent_id) == \
            (NodeStatus.invalid, None, clash.id)
        assert conflict.reason == "crossover conflict in README.md"

        # Settings beyond the texts changed two ways: the genome cannot be merged either.
        steps = [run.repo.read_file(seed.commit, "coding_agent/config.toml").replace(
            "max_steps = 40", f"max_steps = {n}") for n in (30, 50)]
        low = _child(run, first, "e", files={"coding_agent/config.toml": steps[0]})
        high = _child(run, seed, "f", files={"coding_agent/config.toml": steps[1]})
        limits = run.store.get_node(made(run, "crossover", low.id, high.id))
        assert limits.status == NodeStatus.invalid
        assert limits.reason.startswith("crossover conflict in coding_agent/config.toml: ")
        assert "beyond the texts" in limits.reason

        same = run.store.get_node(made(run, "crossover", first.id, seed.id))
        assert same.status == NodeStatus.invalid and same.reason.startswith("no diff")

        # A descendant of the first parent already holds its changes: the merge is a copy.
        later = _child(run, first, "g", text_path="experts.Reviewer.system", text="Later.")
        copy = run.store.get_node(made(run, "crossover", first.id, later.id))
        assert (copy.status, copy.second_parent_id) == (NodeStatus.invalid, later.id)
        assert copy.reason == (f"no diff: the merge is node {later.id}'s agent, which "
                               f"already holds node {first.id}'s changes")
    nodes = {n["id"]: n for n in run_status(tmp_path / "run")["nodes"]}
    assert (nodes[merged.id]["operator"], nodes[merged.id]["second_parent_id"]) == \
        ("crossover", second.id)


def test_the_self_edit_operator_is_todays_step_and_records_itself(
        agent_image, tiny_suite, tmp_path):
    with open_run(tmp_path / "run", _config(tmp_path, tiny_suite)) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        child = run.store.get_node(made(run, "self_edit", seed.id))
        patch = run.repo.patch(child.commit)
        stats = operator_stats(run.store, run.ledger, run.run_id)
    assert (child.status, child.operator) == (NodeStatus.evaluating, "self_edit")
    assert f"+{MARKER}" in patch
    assert stats["self_edit"].tokens > 0 and stats["self_edit"].children == 1


def test_the_second_parent_comes_from_off_the_parents_own_line_when_it_can():
    # 1 -> 2 -> 3, 2 -> 5, 1 -> 4: for node 2, its ancestor and descendants add nothing.
    views = [NodeView(1, None, 1, 2), NodeView(2, 1, 2, 1), NodeView(3, 2, 3, 0),
             NodeView(4, 1, 1, 2), NodeView(5, 2, 2, 1), NodeView(6, 4, 0, 0, "pending")]
    assert {second_parent(views, 2, random.Random(i)) for i in range(30)} == {4}
    assert {second_parent(views, 4, random.Random(i)) for i in range(30)} == {2, 3, 5}
    # Only relatives: one of them all the same (the crossover says it made nothing new).
    assert {second_parent(views[:3], 3, random.Random(i)) for i in range(30)} == {1, 2}
    assert second_parent(views[:1], 1, random.Random(0)) is None


def test_a_genome_merge_refuses_to_drop_a_change_the_first_parent_cannot_hold():
    base = BASE_CONFIG.read_text()
    start = base.index('[[experts]]\nname = "Reviewer"')
    without_reviewer = base[:start] + base[base.index("[[experts]]", start + 1):]
    changed = replace_text(base, "experts.Reviewer.system", "Check every edge case.")
    with pytest.raises(GenomeError, match="first parent removed experts.Reviewer.system"):
        merge_genomes(base, without_reviewer, changed)
    assert "Check every edge case." in merge_genomes(base, base, changed)

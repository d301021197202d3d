"""The genome editor, the mutation reply, the operator policy and its config (no sandbox)."""

from __future__ import annotations

import json
import random
import tomllib

import pytest
from operator_fixtures import BASE_CONFIG

from agentforge.errors import ConfigError
from agentforge.evolve.config import ImproveConfig
from agentforge.evolve.operators.failures import shown_failures
from agentforge.evolve.operators.genome import GenomeError, editable_texts, replace_text
from agentforge.evolve.operators.policy import OperatorPolicy, bandit_choice
from agentforge.evolve.operators.prompt_mutation import Mutation, apply_mutation
from agentforge.evolve.operators.stats import OperatorStats
from agentforge.evolve.operators.structured import parse_json_reply

GENOME = BASE_CONFIG.read_text()


def parse_mutation_reply(text: str) -> Mutation:
    return parse_json_reply(text, Mutation)


def test_an_edit_replaces_one_text_and_keeps_every_other_byte():
    new = 'Review with "care".\nA backslash \\ stays.'
    updated = replace_text(GENOME, "experts.Reviewer.system", new)
    data, before = tomllib.loads(updated), tomllib.loads(GENOME)
    assert next(e for e in data["experts"] if e["name"] == "Reviewer")["system"] == new
    data["experts"] = [e for e in data["experts"] if e["name"] != "Reviewer"]
    before["experts"] = [e for e in before["experts"] if e["name"] != "Reviewer"]
    assert data == before
    assert "# The expert roster of the meta-prompting conductor." in updated  # comments kept
    assert len(updated.splitlines()) == len(GENOME.splitlines())


def test_an_edit_of_a_missing_text_says_which_exist():
    assert {"prompts.coder_system", "approaches.direct-edit.instructions",
            "experts.Engineer.description"} <= set(editable_texts(GENOME))
    with pytest.raises(GenomeError, match="not an editable text.*prompts.coder_system"):
        replace_text(GENOME, "prompts.nonexistent", "x")
    with pytest.raises(GenomeError, match="not an editable text"):
        replace_text(GENOME, "limits.max_steps", "3")  # numbers are not texts


def test_a_mutation_reply_is_parsed_and_applied_or_rejected_with_the_reason():
    mutation = parse_mutation_reply(
        'Here: {"summary": "Sharper reviewer", "diagnosis": "Reviews miss edge cases.", '
        '"edits": [{"path": "experts.Reviewer.system", "text": "Check edge cases."}]}')
    assert "Check edge cases." in apply_mutation(GENOME, mutation)
    with pytest.raises(ValueError, match="edits"):
        parse_mutation_reply('{"summary": "Nothing at all", "diagnosis": "nothing to say", '
                             '"edits": []}')
    same = tomllib.loads(GENOME)["prompts"]["no_tool_call"]
    unchanged = parse_mutation_reply(json.dumps({
        "summary": "Same text", "diagnosis": "no change really",
        "edits": [{"path": "prompts.no_tool_call", "text": same}]}))
    with pytest.raises(ValueError, match="change nothing"):
        apply_mutation(GENOME, unchanged)


def test_one_operator_draws_nothing_so_old_runs_keep_their_choices():
    rng = random.Random(3)
    state = rng.getstate()
    assert OperatorPolicy({"self_edit": 1.0}).choose(rng, dict) == "self_edit"
    assert rng.getstate() == state


def test_a_mix_follows_its_weights_from_the_given_rng():
    policy = OperatorPolicy({"self_edit": 0.6, "prompt_mutation": 0.3, "crossover": 0.1})
    picks = [policy.choose(random.Random(i), dict) for i in range(2000)]
    assert 0.5 < picks.count("self_edit") / 2000 < 0.7
    assert 0.05 < picks.count("crossover") / 2000 < 0.15
    assert [policy.choose(random.Random(7), dict) for _ in range(3)] == \
        [policy.choose(random.Random(7), dict)] * 3
    assert "crossover" not in {OperatorPolicy({"self_edit": 1, "crossover": 0}).choose(
        random.Random(i), dict) for i in range(50)}


def test_the_bandit_tries_each_operator_then_prefers_gain_per_cost():
    names = ["self_edit", "prompt_mutation"]
    tried = {"self_edit": OperatorStats(children=2, gain=0.3, tokens=50_000, seconds=600)}
    assert bandit_choice(names, tried, random.Random(0)) == "prompt_mutation"
    stats = {**tried, "prompt_mutation": OperatorStats(children=2, gain=0.3, tokens=2_000,
                                                       seconds=60)}
    picks = [bandit_choice(names, stats, random.Random(i)) for i in range(200)]
    assert picks.count("prompt_mutation") > 170  # cheaper for the same gain; a few explore
    stats["prompt_mutation"].gain = 0.0
    assert [bandit_choice(names, stats, random.Random(i)) for i in range(200)].count(
        "self_edit") > 170


def test_the_operator_config_names_known_operators_with_usable_weights():
    assert ImproveConfig().operators == {"self_edit": 1.0}
    with pytest.raises((ValueError, ConfigError), match="unknown operator.*crossbreed"):
        ImproveConfig(operators={"crossbreed": 1.0})
    with pytest.raises((ValueError, ConfigError), match="at least one > 0"):
        ImproveConfig(operators={"self_edit": 0.0})


def test_each_step_is_shown_its_own_sample_of_the_parents_failures():
    # The most recent failures every time made each re-expansion of a parent see the same
    # evidence, so a deterministic model proposed the same change again (a copy).
    failed = list(range(10))
    samples = {tuple(shown_failures(failed, 3, seed)) for seed in range(40)}
    assert len(samples) > 10
    assert all(len(s) == 3 and list(s) == sorted(s) for s in samples)  # in their order
    assert shown_failures(failed, 3, 7) == shown_failures(failed, 3, 7)  # a resume sees it too
    assert shown_failures(failed, 3, None) == [7, 8, 9]  # no seed: the most recent
    assert shown_failures([4, 5], 3, 7) == [4, 5]
    assert shown_failures(failed, 0, 7) == []

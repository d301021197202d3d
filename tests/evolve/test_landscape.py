"""The offline landscape's rules, asked over real HTTP of the scripted model: each skill
fixes its own group of tasks and only those, the stepping stone and both decoys behave as
described, and both self-edits and prompt mutations reach the skills."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from agentforge.bench import get_benchmark
from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import ordered_tasks
from agentforge.evolve.operators.diagnose import AgentFacts, FailureCase, diagnose
from agentforge.evolve.operators.genome import editable_texts, replace_text
from agentforge.evolve.operators.prompt_mutation import ask_mutation
from agentforge.evolve.operators.structured import ReplyFailed
from agentforge.examples.offline_landscape import (
    NOTHING_TO_MUTATE,
    SEED_SOLVES,
    SKILLS,
    coder_system,
    landscape_script,
)
from agentforge.llm.client import ModelClient
from agentforge.llm.config import RetryPolicy
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

ROOT = Path(__file__).parents[2]
GENOME = (ROOT / "archive/base/coding_agent/config.toml").read_text()
BASE = tomllib.loads(GENOME)["prompts"]["coder_system"]
MODEL_FILE = ROOT / "examples/offline-landscape-model.json"
CONFIG = ROOT / "examples/offline-landscape.toml"


@pytest.fixture(scope="module")
def suite():
    """Every task, the validation split, and the committed config's validation sample."""
    bench = get_benchmark("local")
    config = load_run_config(CONFIG)
    sample = ordered_tasks(bench, config, "validation",
                           config.benchmark.max_validation_tasks, "validation")
    return (bench.tasks(), {t.instance_id for t in bench.tasks(split="validation")},
            {t.instance_id for t in sample})


@pytest.fixture(scope="module")
def server(suite):
    with ScriptedServer(json.loads(MODEL_FILE.read_text())) as running:
        yield running


def _client(server) -> ModelClient:
    return ModelClient(Endpoint(base_url=server.base_url, model="scripted"),
                       retry=RetryPolicy(attempts=1))


def _fixed(server, tasks, skills: list[str]) -> set[str]:
    """Tasks for which the model's first move, as the coder with these skills, is the fix."""
    client, fixed = _client(server), set()
    for task in tasks:
        reply = client.chat([
            {"role": "system", "content": coder_system(BASE, skills)},
            {"role": "user", "content": f"<task>\n{task.problem_statement}\n</task>\n"
                                        "Work in /workspace."}])
        calls = reply.choices[0].message.tool_calls or []
        if calls and calls[0].function.name == "bash" and \
                "git apply" in calls[0].function.arguments:
            fixed.add(task.instance_id)
    return fixed


def test_the_committed_model_file_is_what_the_generator_writes(suite):
    tasks, validation, sample = suite
    assert json.loads(MODEL_FILE.read_text()) == landscape_script(tasks, validation, sample,
                                                                  BASE)


def test_each_skill_fixes_its_group_and_only_that(server, suite):
    tasks, validation, sample = suite
    ids = {t.instance_id for t in tasks}
    group = {name: {i for i in ids if i.startswith(prefix)}
             for name, prefix in (("py", "py-exercise-"), ("go", "go-exercise-"),
                                  ("swe", "swe-"))}
    seed = set(SEED_SOLVES)
    assert _fixed(server, tasks, []) == seed
    assert _fixed(server, tasks, ["py"]) == seed | group["py"]
    assert _fixed(server, tasks, ["go"]) == seed | group["go"]
    # The stepping stone alone fixes nothing, nor the skill that needs it.
    assert _fixed(server, tasks, ["map"]) == seed
    assert _fixed(server, tasks, ["swe"]) == seed
    assert _fixed(server, tasks, ["map", "swe"]) == seed | group["swe"]
    # The decoy fixes validation tasks of the repository group, never a held-out one.
    assert _fixed(server, tasks, ["decoy"]) == seed | (group["swe"] & validation)
    assert group["swe"] - validation  # there are held-out repository tasks to tell
    # The memo fixes the Python exercises of the run's sample: a larger validation sample
    # exposes it (the split's other Python exercises), and so do the held-out ones.
    assert _fixed(server, tasks, ["memo"]) == seed | (group["py"] & sample)
    assert group["py"] & validation - sample and group["py"] - validation
    assert _fixed(server, tasks, ["memo", "py"]) == seed | group["py"]
    assert _fixed(server, tasks, list(SKILLS)) == ids


def _proposal(server, failed: list[str]) -> str:
    facts = AgentFacts(name="base", description="seed", files=["coding_agent/config.toml"],
                       successes=1, failures=len(failed))
    cases = [FailureCase(task_id=t, reason="unresolved", problem="...") for t in failed]
    return diagnose(_client(server), facts, cases, attempts=1).summary


def test_self_edits_propose_the_skill_of_the_failures_shown(server):
    assert _proposal(server, ["py-exercise-lru-cache"]) == SKILLS["py"].summary
    assert _proposal(server, ["py-exercise-lru-cache", "go-exercise-rpn-calc"]) == \
        SKILLS["go"].summary
    assert _proposal(server, ["swe-cronlite-1"]) == SKILLS["swe"].summary
    assert _proposal(server, ["swe-cronlite-1", "swe-ledgerly-1"]) == SKILLS["decoy"].summary


def test_prompt_mutations_add_the_first_missing_skill_and_keep_the_rest(server):
    for present, added in [([], "map"), (["map"], "py"), (["decoy", "map", "py"], "go"),
                           (["go", "map", "py"], "swe"), (["go", "map", "py", "swe"], "decoy"),
                           (["memo"], "map"), (["map", "memo"], "py")]:
        genome = replace_text(GENOME, "prompts.coder_system", coder_system(BASE, present))
        _, updated = ask_mutation(_client(server), genome, [], attempts=1)
        text = editable_texts(updated)["prompts.coder_system"]
        assert SKILLS[added].marker in text, (present, added)
        assert all(SKILLS[s].marker in text for s in present)
        assert [s for s in SKILLS if SKILLS[s].marker in text] == \
            [s for s in SKILLS if s in {*present, added}]

    # Every skill there (the memo or not: the optimizer never adds it): the optimizer says
    # so, and the step fails with its words.
    for present in (list(SKILLS), [s for s in SKILLS if s != "memo"]):
        genome = replace_text(GENOME, "prompts.coder_system", coder_system(BASE, present))
        with pytest.raises(ReplyFailed) as failed:
            ask_mutation(_client(server), genome, [], attempts=1)
        assert failed.value.text == NOTHING_TO_MUTATE


def _line_added(server, skills: list[str], proposal: str) -> str | None:
    """The skill whose line the parent with these skills adds when asked for `proposal`."""
    reply = _client(server).chat([
        {"role": "system", "content": coder_system(BASE, skills)},
        {"role": "user", "content": f"# Proposed change: {SKILLS[proposal].summary}\n..."}])
    call = (reply.choices[0].message.tool_calls or [None])[0]
    if call is None or call.function.name != "str_replace":
        return None
    added = json.loads(call.function.arguments)["new_str"]
    return next(name for name, skill in SKILLS.items() if skill.marker in added)


def test_without_the_map_multi_file_work_takes_the_decoy_shortcut(server):
    assert _line_added(server, [], "swe") == "decoy"
    assert _line_added(server, ["py", "go"], "swe") == "decoy"
    assert _line_added(server, ["decoy"], "swe") == "swe"  # the shortcut is taken once
    assert _line_added(server, ["decoy", "swe"], "swe") == "map"  # then the stepping stone
    assert _line_added(server, ["map"], "swe") == "swe"
    assert _line_added(server, ["map", "swe"], "swe") is None  # already there: submitted
    assert _line_added(server, ["py"], "py") is None


def test_the_python_habit_asked_for_the_first_time_is_the_memo(server):
    assert _line_added(server, [], "py") == "memo"
    assert _line_added(server, ["go", "decoy"], "py") == "memo"
    assert _line_added(server, ["memo"], "py") == "py"  # asked again: the real line
    assert _line_added(server, ["memo", "py"], "py") is None
    assert _line_added(server, [], "go") == "go"

"""Class 5: self-validation that the child cannot edit. Hand-made children whose agent is
broken try to pass validation by weakening their own tests or the way they are run; a
framework-owned contract check and a framework-owned pytest configuration make them invalid.
A child that deletes tests is marked with a warning that `status --json` shows.

Round two (children.py): agents that pass a fixed contract check without solving anything
(special-casing its task, a blind edit, a one-shot stub, reading the model's script) with
their failing tests hidden (emptied at the same count, a conftest reaching the guard's state
or swapping tests before collection), and working agents hiding a failing test the same
ways or by forging the own-tests report. Each is invalid (the contract task is drawn fresh
per validation) or flagged (fewer assertions, a changed test harness); honest ones are
valid without a warning."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.evolve.rundir.agents import clean_copy
from agentforge.evolve.validation.agent import validate_agent
from agentforge.evolve.validation.suite import shrunken_test_suite
from agentforge.paths import archive_dir

sys.path.append(str(Path(__file__).parent.parent / "evolve"))
sys.path.append(str(Path(__file__).parent))
from children import PARENT, child, write_agent  # noqa: E402
from loop_fixtures import demo_config, write_tiny_suite  # noqa: E402

# A broken agent: it exits without touching the repository.
BROKEN_MAIN = "import sys\n\nsys.exit(0)\n"
FAILING_TEST = "def test_the_agent_works():\n    assert False, 'the agent is broken'\n"
FORCE_PASS = ("import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
              "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
              "    report = outcome.get_result()\n"
              "    report.outcome, report.longrepr = 'passed', None\n")
CHILDREN = {
    "tests replaced by a trivial pass": (
        {"tests/test_agent.py": "def test_ok():\n    pass\n"}, "contract check failed"),
    "conftest hook forcing passes": (
        {"tests/test_agent.py": FAILING_TEST, "tests/conftest.py": FORCE_PASS},
        "runner tampering"),
    "sitecustomize exiting 0": (
        {"tests/test_agent.py": FAILING_TEST, "sitecustomize.py": "import os\nos._exit(0)\n"},
        "own tests fail"),
    "plugin through pyproject addopts": (
        {"tests/test_agent.py": FAILING_TEST, "forcepass.py": FORCE_PASS,
         "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p forcepass"\n'},
        "own tests fail"),
}


def _child(root: Path, files: dict[str, str]) -> Path:
    (root / "lazy_agent").mkdir(parents=True)
    (root / "agent.toml").write_text(
        'name = "lazy"\nentry = "lazy_agent"\ndescription = "does nothing"\n')
    (root / "lazy_agent" / "__init__.py").write_text("")
    (root / "lazy_agent" / "__main__.py").write_text(BROKEN_MAIN)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(CHILDREN))
def test_a_broken_child_that_weakens_its_tests_is_invalid(agent_image, tmp_path, variant):
    files, reason = CHILDREN[variant]
    child = _child(tmp_path / "child", files)
    why = validate_agent(child, timeout=300)
    assert why is not None and reason in why, why


BROKEN = ("special-cases the fixed task", "a blind edit", "a one-shot stub")
HIDDEN_BY_CONFTEST = ("a conftest reaching the guard's state",
                      "a conftest swapping tests before collection")
# child -> how it is caught: "invalid: <reason>" or "warning: <text>"
ROUND_TWO = {
    **{(agent, hiding): "invalid: contract check failed" for agent in BROKEN
       for hiding in ("tests trivialised, same count",
                      "a conftest swapping tests before collection")},
    # The outcome driver keeps the guard's results out of the conftest's reach: the failing
    # test is seen before the contract check runs.
    **{(agent, "a conftest reaching the guard's state"): "invalid: own tests fail"
       for agent in BROKEN},
    ("reads the scripted model's script", "tests trivialised, same count"):
        "invalid: contract check failed",
    ("working, one test failing", "tests trivialised, same count"):
        "warning: fewer assertions in 1 kept tests",
    **{("working, one test failing", hiding): "warning: test harness changed: tests/conftest.py"
       for hiding in (*HIDDEN_BY_CONFTEST, "a conftest forging the own-tests report")},
}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent,hiding", sorted(ROUND_TWO))
def test_a_child_that_games_its_validation_is_invalid_or_flagged(agent_image, tmp_path, agent,
                                                                 hiding):
    parent = write_agent(tmp_path / "parent", {})
    cheat = child(tmp_path / "child", agent, hiding)
    # What validate_node records: the validator's verdict and the warning from the source.
    why = validate_agent(cheat, timeout=300)
    warning = shrunken_test_suite(parent, cheat)
    kind, text = ROUND_TWO[agent, hiding].split(": ", 1)
    if kind == "invalid":
        assert why is not None and text in why, (why, warning)
    else:
        assert warning is not None and text in warning, (why, warning)


@pytest.mark.docker
@pytest.mark.slow
def test_honest_agents_are_valid_without_a_warning(agent_image, tmp_path):
    parent = write_agent(tmp_path / "parent", {})
    # An honest change: a new helper and a test of it; nothing of the parent's suite weakened.
    honest = write_agent(tmp_path / "child", {
        "relay_agent/text.py": "def shorten(text, limit):\n    return text[:limit]\n",
        "tests/test_text.py": "from relay_agent.text import shorten\n\n\n"
                              "def test_shorten():\n    assert shorten('abcdef', 3) == 'abc'\n"})
    assert validate_agent(parent, timeout=300) is None
    assert validate_agent(honest, timeout=300) is None
    assert shrunken_test_suite(parent, honest) is None


@pytest.mark.docker
@pytest.mark.slow
def test_agent_test_runs_the_tests_the_way_validation_does(agent_image, tmp_path):
    # Run with PYTHONPATH into the agent, a sitecustomize exiting 0 at start-up used to pass
    # `agentforge agent test` whatever its tests said.
    cheat = write_agent(tmp_path / "child", {
        "sitecustomize.py": "import os\nos._exit(0)\n",
        "tests/test_relay.py": PARENT["tests/test_relay.py"] + FAILING_TEST})
    done = CliRunner().invoke(app, ["agent", "test", str(cheat)])
    assert done.exit_code == 1, done.output
    assert "FAILED: own tests fail: tests/test_relay.py::test_the_agent_works" in done.output
    honest = write_agent(tmp_path / "honest", {})
    done = CliRunner().invoke(app, ["agent", "test", str(honest), "--contract"])
    assert done.exit_code == 0 and "checks passed" in done.output, done.output


def test_deleting_tests_is_noticed_from_the_source(tmp_path):
    parent = clean_copy(archive_dir() / "base", tmp_path / "parent")
    child = clean_copy(archive_dir() / "base", tmp_path / "child")
    assert shrunken_test_suite(parent, child) is None
    (child / "tests" / "test_tools.py").unlink()
    (child / "tests" / "test_loop.py").write_text("def test_ok():\n    pass\n")
    warning = shrunken_test_suite(parent, child)
    assert "deleted test files: tests/test_tools.py" in warning
    child_count, parent_count = map(int, re.search(
        r"defines (\d+) tests, its parent (\d+)", warning).groups())
    assert child_count < parent_count


def test_the_warning_reaches_status_json(tmp_path):
    # A real run directory, store and agent repository; the child is a commit that deletes
    # one of the seed's test files, as an implementation step would make it.
    from agentforge.bench.patches import diff_files
    from agentforge.evolve.config import load_run_config
    from agentforge.evolve.loop.context import open_run
    from agentforge.evolve.operators.child import warn_if_tests_shrank
    from agentforge.store.records import NodeStatus

    suite = write_tiny_suite(tmp_path / "suite", ["py-tiny-add"], ["py-tiny-greet"])
    config = load_run_config(demo_config(tmp_path, suite))
    removed = "tests/test_meta_reasoning.py"
    deletion = diff_files({removed: ((archive_dir() / "base" / removed).read_text(), None)})
    with open_run(tmp_path / "run", config) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        commit = run.repo.create_child(seed.commit, deletion, message="drop a test file")
        child = run.store.add_node(run.run_id, parent_id=seed.id, commit=commit,
                                   status=NodeStatus.evaluating)
        warn_if_tests_shrank(run, child.id)
        warn_if_tests_shrank(run, seed.id)  # the seed has no parent: nothing to compare
    done = CliRunner().invoke(app, ["status", str(tmp_path / "run"), "--json"])
    assert done.exit_code == 0, done.output
    nodes = {n["id"]: n for n in json.loads(done.output)["nodes"]}
    assert any(f"deleted test files: {removed}" in w for w in nodes[child.id]["warnings"])
    assert nodes[seed.id]["warnings"] == []
    text = CliRunner().invoke(app, ["status", str(tmp_path / "run")])
    assert "[warning: node" in text.output

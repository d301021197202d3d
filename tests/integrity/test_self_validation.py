"""Class 5: self-validation that the child cannot edit. Hand-made children whose agent is
broken try to pass validation by weakening their own tests or the way they are run; a
framework-owned contract check and a framework-owned pytest configuration make them invalid.
A child that deletes tests is marked with a warning that `status --json` shows."""

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
from agentforge.evolve.validation.checks import shrunken_test_suite
from agentforge.paths import archive_dir

sys.path.append(str(Path(__file__).parent.parent / "evolve"))
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

"""Validation of a child in a sandbox: the reasons that make a node `invalid`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentforge.evolve.rundir.agents import clean_copy
from agentforge.evolve.validation.agent import validate_agent
from agentforge.paths import archive_dir

pytestmark = pytest.mark.slow
QUICK = ["tests/test_contract.py", "-x", "-k", "renders or rejected"]


@pytest.fixture
def child(tmp_path: Path) -> Path:
    return clean_copy(archive_dir() / "base", tmp_path / "child")


def test_the_seed_is_valid(agent_image, child):
    assert validate_agent(child, pytest_args=QUICK, timeout=600) is None


def test_a_syntax_error_anywhere_makes_the_child_invalid(agent_image, child):
    (child / "coding_agent" / "helpers.py").write_text("def broken(:\n    pass\n")
    reason = validate_agent(child, pytest_args=QUICK, timeout=600)
    assert reason is not None and reason.startswith("syntax error") and "helpers.py" in reason


def test_a_failing_own_test_makes_the_child_invalid(agent_image, child):
    (child / "tests" / "test_new_tool.py").write_text(
        "def test_the_new_tool_exists():\n    assert False, 'new tool missing'\n")
    reason = validate_agent(child, pytest_args=["tests/test_new_tool.py"], timeout=600)
    assert reason is not None and reason.startswith("own tests fail")
    assert "1 failed" in reason


def test_a_broken_manifest_makes_the_child_invalid(child):
    (child / "agent.toml").write_text('name = "x"\nentry = "no_such_package"\n')
    assert "agent contract broken" in validate_agent(child)


def test_a_child_failing_its_own_tests_ends_its_contract_check_at_once(agent_image, child):
    # The contract check runs beside the own checks; a child that hangs when it is run and
    # fails its own test is judged by the test, without waiting out the contract's deadline.
    (child / "coding_agent" / "__main__.py").write_text(
        "import time\n\ntime.sleep(10_000)\n")
    (child / "tests" / "test_new_tool.py").write_text(
        "def test_the_new_tool_exists():\n    assert False, 'new tool missing'\n")
    started = time.monotonic()
    reason = validate_agent(child, pytest_args=["tests/test_new_tool.py"], timeout=600)
    assert reason is not None and reason.startswith("own tests fail")
    assert time.monotonic() - started < 300  # the contract check alone would take 600 s


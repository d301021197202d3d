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



HANDOFF = "agentforge-own-tests-ran"
WAIT_FOR_HANDOFF = f'''"""Runs the agent only once its own tests have left a mark it can see."""
import os
import sys
import time
from pathlib import Path

PLACES = ["/tmp", "/var/tmp", "/dev/shm", "/workspace", "/task", os.path.expanduser("~")]
end = time.time() + 45
while not any((Path(p) / {HANDOFF!r}).exists() for p in PLACES):
    if time.time() > end:
        sys.exit(0)  # alone, it does nothing
    time.sleep(0.5)
from coding_agent.real_main import main  # noqa: E402

sys.exit(main())
'''
LEAVE_MARKS = f'''import os
from pathlib import Path


def test_leaves_a_mark_for_the_contract_check():
    for place in ["/tmp", "/var/tmp", "/dev/shm", "/workspace", "/task",
                  os.path.expanduser("~")]:
        try:
            (Path(place) / {HANDOFF!r}).write_text("go")
        except OSError:
            pass
'''


def test_a_childs_own_tests_cannot_hand_anything_to_its_contract_check(agent_image, child):
    # The two run side by side now: an agent that fixes the contract's task only after its
    # own tests have written a mark (anywhere it might read it) must fail the contract check,
    # because the two sandboxes share nothing.
    package = child / "coding_agent"
    (package / "real_main.py").write_text((package / "__main__.py").read_text())
    (package / "__main__.py").write_text(WAIT_FOR_HANDOFF)
    (child / "tests" / "test_handoff.py").write_text(LEAVE_MARKS)
    reason = validate_agent(child, pytest_args=["tests/test_handoff.py"], timeout=600)
    assert reason is not None and reason.startswith("contract check failed"), reason

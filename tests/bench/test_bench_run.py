"""`bench run` with a real (model-free) agent: outputs, isolation of failures, cheating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
CLAMP_FIX = ("def clamp(value, low, high):\n    if low > high:\n        raise ValueError\n"
             "    return max(low, min(value, high))\n")
KV_FIX = ('def parse(text):\n    result = {}\n    for line in text.splitlines():\n'
          '        line = line.strip()\n        if line and not line.startswith("#"):\n'
          '            key, _, value = line.partition("=")\n'
          '            result[key.strip()] = value.strip()\n    return result\n')
# A conftest that reports every test as passed: the oldest trick against pytest graders.
FAKE_PASS = ("import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
             "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
             "    report = outcome.get_result()\n    report.outcome = 'passed'\n")
TRIVIAL_TESTS = "def test_value_with_equals():\n    pass\n\n\ndef test_simple():\n    pass\n"


def _run(agent: Path, out: Path, *extra: str):
    done = CliRunner().invoke(app, [
        "bench", "run", "--benchmark", "local", "--source", str(FIXTURES / "local"),
        "--agent", str(agent), "--out", str(out), *extra])
    assert done.exit_code == 0, done.output
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_run_writes_outputs_and_isolates_crash_and_hang(make_agent, agent_image, tmp_path):
    agent = make_agent([
        {"when": "# Clamp", "write": {"clamp.py": CLAMP_FIX}},
        {"when": "parse() drops values", "write": {"README.txt": "half done"}, "crash": True},
        {"when": "# Digit sum", "sleep": 3600},
    ])
    out = tmp_path / "out"
    report = _run(agent, out, "--workers", "2", "--agent-timeout", "45")
    assert report["resolved_ids"] == ["py-exercise-clamp"]
    reasons = report["reasons"]
    # The crashing agent's partial edit is still its prediction, graded and failing.
    assert "agent ended: exit code 1" in reasons["swe-tinykv-1"]
    assert "agent ended: timed out" in reasons["go-exercise-digitsum"]
    preds = [json.loads(line) for line in (out / "preds.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in preds] == [
        "go-exercise-digitsum", "py-exercise-clamp", "swe-tinykv-1"]
    assert set(preds[1]) == {"instance_id", "model_name_or_path", "model_patch"}
    assert "+    return max(low, min(value, high))" in preds[1]["model_patch"]
    trajectory = json.loads(
        (out / "trajectories" / "py-exercise-clamp" / "out" / "trajectory.json").read_text())
    assert trajectory["exit_status"] == "submitted"


@pytest.mark.slow
def test_editing_or_deleting_tests_gains_nothing(make_agent, agent_image, tmp_path):
    cheats = [
        # swe: rewrite the visible test file (also the hidden test's path) + fake-pass conftest
        {"when": "parse() drops values",
         "write": {"tests/test_parse.py": TRIVIAL_TESTS, "conftest.py": FAKE_PASS,
                   "tests/conftest.py": FAKE_PASS}},
        # exercise: plant a trivial file at the hidden test's path
        {"when": "# Clamp", "write": {"test_clamp.py": "def test_nothing():\n    pass\n"}},
    ]
    report = _run(make_agent(cheats), tmp_path / "cheat", "--subset", "smoke")
    assert report["resolved_instances"] == 0
    assert report["unresolved_ids"] == ["py-exercise-clamp", "swe-tinykv-1"]
    assert "conftest.py (test or runner configuration)" in report["reasons"]["swe-tinykv-1"]
    # Deleting the visible tests while fixing the code: the fix counts, the deletion does not.
    honest_but_deleting = [
        {"when": "parse() drops values", "write": {"tinykv/__init__.py": KV_FIX},
         "delete": ["tests/test_parse.py"]},
    ]
    report = _run(make_agent(honest_but_deleting), tmp_path / "fix",
                  "--instance-id", "swe-tinykv-1")
    assert report["resolved_ids"] == ["swe-tinykv-1"]
    assert report["tasks"]["swe-tinykv-1"]["dropped_files"] == ["tests/test_parse.py"]

"""Polyglot in sandboxes: six languages graded by their own test commands; pass@2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.bench import get_benchmark
from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.task import Outcome, Prediction
from agentforge.cli import app

SOURCE = Path(__file__).parent / "fixtures" / "polyglot"
IDS = ["python__word-flip", "go__hamming-lite", "rust__square-sum", "javascript__shout",
       "cpp__gcd", "java__greeter"]


@pytest.mark.slow
@pytest.mark.parametrize("instance_id", IDS)
def test_example_passes_and_stub_fails(polyglot_image, instance_id):
    bench = get_benchmark("polyglot", source=SOURCE)
    task = bench.task(instance_id)
    example = bench.grade(task, Prediction(instance_id=instance_id,
                                           model_patch=task.reference_patch))
    assert example.outcome is Outcome.RESOLVED, example.reason + example.test_output
    stub = grade_in_sandbox(task, Prediction(instance_id=instance_id, model_patch=""),
                            run_empty=True)
    assert stub.outcome is Outcome.UNRESOLVED, stub.reason


@pytest.mark.slow
def test_skipped_tests_are_run_too(polyglot_image):
    # The example is right for the first test only: the skipped (#[ignore]) one must fail.
    bench = get_benchmark("polyglot", source=SOURCE)
    task = bench.task("rust__square-sum")
    half = task.reference_patch.replace("(1..=n).map(|k| k * k).sum()", "n")
    result = bench.grade(task, Prediction(instance_id=task.instance_id, model_patch=half))
    assert result.outcome is Outcome.UNRESOLVED


@pytest.mark.slow
def test_pass_at_2_retries_once_with_the_test_output(make_agent, agent_image, tmp_path):
    wrong = "def flip(sentence):\n    return sentence\n"
    right = "def flip(sentence):\n    return ' '.join(reversed(sentence.split()))\n"
    agent = make_agent([
        {"when": "# Word flip", "write": {"word_flip.py": wrong}},
        # Only the retry prompt carries the test output; it names the failing assertion.
        {"when": "did not pass the tests", "write": {"word_flip.py": right}},
    ])
    for attempts, resolved in (("1", []), ("2", ["python__word-flip"])):
        out = tmp_path / f"pass-at-{attempts}"
        done = CliRunner().invoke(app, [
            "bench", "run", "-b", "polyglot", "--source", str(SOURCE), "--agent", str(agent),
            "--out", str(out), "-i", "python__word-flip", "--attempts", attempts])
        assert done.exit_code == 0, done.output
        report = json.loads((out / "report.json").read_text())
        assert report["resolved_ids"] == resolved
        assert report["tasks"]["python__word-flip"]["attempts"] == int(attempts)
        assert report["metric"] == f"pass@{attempts}"  # a figure says which kind it is
        assert f"({report['metric']};" in done.output
    retry_problem = (tmp_path / "pass-at-2" / "trajectories" / "python__word-flip" /
                     "attempt-2" / "out" / "trajectory.json").read_text()
    # The retry prompt carried the first attempt's real test failure.
    assert "did not pass the tests" in retry_problem and "world hello" in retry_problem

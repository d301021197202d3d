"""pass@2 in a run: each attempt of an evaluation gets its own grant, reaches the model and
is booked (the second attempt once ran with the first attempt's revoked key)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from loop_fixtures import demo_config
from typer.testing import CliRunner

from agentforge.bench import get_benchmark
from agentforge.cli import app
from agentforge.evolve.rundir import RunDir
from agentforge.examples.offline_demo import apply_command, demo_script, task_phrase
from agentforge.llm.ledger import Ledger

pytestmark = pytest.mark.slow
RETRY = "did not pass the tests"
"""Text of the second attempt's problem (bench/templates/retry.md.j2)."""


def second_attempt_script(tasks) -> dict:
    """A model that makes a wrong change on a first attempt and the fix on the retry."""
    rank = demo_script(tasks)["rules"][0]
    rules = [rank]
    for task in tasks:
        phrase = task_phrase(task, tasks)
        rules += [
            {"name": f"fix {task.instance_id}", "last_message_contains": [phrase, RETRY],
             "respond": {"tool_calls": [{"name": "bash", "arguments": {
                 "command": apply_command(task.reference_patch.rstrip("\n"))}}]}},
            {"name": f"guess {task.instance_id}", "last_message_contains": phrase,
             "not_contains": RETRY,
             "respond": {"tool_calls": [{"name": "bash", "arguments": {
                 "command": "echo guess > GUESS.txt"}}]}},
        ]
    rules += [{"name": "submit", "regex": ".",
               "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "ok"}}]}}]
    return {"models": ["scripted-pass-at-2"], "rules": rules}


def test_both_attempts_of_a_pass_at_2_evaluation_reach_the_model_and_are_booked(
        agent_image, tiny_suite, tmp_path):
    config = demo_config(tmp_path, tiny_suite, extra="[benchmark.options]\nattempts = 2\n")
    tasks = get_benchmark("local", source=tiny_suite).tasks()
    (tmp_path / "model.json").write_text(json.dumps(second_attempt_script(tasks)))
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--quiet", "--config", str(config),
         "--run-dir", str(run_dir), "--set", "budget.max_iterations=0"],
        capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]

    shown = CliRunner().invoke(app, ["status", str(run_dir), "--json"])
    assert shown.exit_code == 0, shown.output
    (seed,) = json.loads(shown.output)["nodes"]
    # Every task is solved, by its second attempt: the first one only guesses.
    assert (seed["evaluated_tasks"], seed["resolved_tasks"]) == (3, 3)
    validation = run_dir / "nodes" / str(seed["id"]) / "eval" / "validation" / "trajectories"
    calls = Ledger(RunDir(run_dir).store_url).calls(run_id=None, role="agent")
    for task_id in ("py-tiny-add", "py-tiny-greet", "py-tiny-double"):
        for attempt in (1, 2):
            path = validation / task_id / f"attempt-{attempt}" / "out" / "trajectory.json"
            trajectory = json.loads(path.read_text())
            assert trajectory.get("stop_reason") != "crash", (path, trajectory.get("error"))
        booked = [c for c in calls if c.task_id == task_id and c.node_id == seed["id"]]
        refused = [(c.status, c.http_status, c.error) for c in booked if c.status != "ok"]
        assert not refused, refused
        # rank, guess, submit on the first attempt; rank, fix, submit on the second
        assert len(booked) == 6, [(c.status, c.created_at) for c in booked]

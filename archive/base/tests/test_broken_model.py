"""A broken model costs a few calls, not the step limit: malformed and empty replies, replies
that never come, and runaway tool arguments, all from the scripted model over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tool_call

from coding_agent.meta_prompting import CONSULT_START
from coding_agent.trajectory import MAX_FILE_BYTES, Trajectory

AGENT_DIR = Path(__file__).resolve().parents[1]


def completion(**fields) -> str:
    """A chat.completion body with `fields` replacing its parts (as a broken server sends)."""
    body = {"id": "chatcmpl-broken", "object": "chat.completion", "created": 0,
            "model": "scripted", "usage": {"prompt_tokens": 10, "completion_tokens": 1},
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}]}
    return json.dumps({**body, **fields})


MALFORMED = {
    "invalid tool-call JSON": {"tool_calls": [{"name": "bash", "arguments": '{"command": "ls'}]},
    "unknown tool": tool_call("teleport", to="the answer"),
    "arguments that fit no tool": tool_call("str_replace", path="calc.py"),
    "no tool call": {"content": "I would change calc.py, I think."},
    "empty reply": {"content": ""},
    "message null": {"raw_body": completion(choices=[{"index": 0, "message": None,
                                                      "finish_reason": "stop"}])},
    "choices empty": {"raw_body": completion(choices=[])},
    "body not JSON": {"raw_body": "<html>502 Bad Gateway</html>"},
}


@pytest.mark.parametrize("reply", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_streak_of_malformed_replies_stops_the_run(run_with, reply):
    # Two malformed replies, one good call (the streak starts again), then malformed forever.
    rules = [
        {"name": "first two", "max_uses": 2, "respond": reply},
        {"name": "good", "max_uses": 1, "respond": tool_call("view", path="calc.py")},
        {"name": "broken from now on", "respond": reply},
    ]
    run = run_with(rules, strategy="direct", limits={"max_reminders": 2})
    assert run.outcome.stop_reason == "malformed_replies"
    assert len(run.requests) == 2 + 1 + 3
    traj = run.trajectory
    assert (traj["exit_status"], traj["stop_reason"], traj["usage"]["calls"]) == (
        "ok", "malformed_replies", 6)


def test_a_broken_model_costs_the_default_strategy_a_few_calls(run_with):
    # Meta-reasoning: the ranker tries max_reminders + 1 times and falls back to the config
    # order; the coder then stops after as many malformed replies.
    run = run_with([{"name": "broken", "respond": MALFORMED["choices empty"]}])
    attempts = run.trajectory["limits"]["max_reminders"] + 1
    assert run.outcome.stop_reason == "malformed_replies"
    assert len(run.requests) == 2 * attempts
    calls = run.trajectory["model_calls"]
    assert {call["malformed"] for call in calls} == {"the response has no choices"}
    assert [call["thread"] for call in calls] == ["ranker"] * attempts + ["coder"] * attempts


def test_tool_calls_where_no_tools_were_offered_stay_out_of_the_conversation(run_with):
    # The conductor offers no tools; an assistant message with tool calls and no tool
    # answers after it would make a real endpoint refuse every later request.
    rules = [{"name": "conductor", "system_contains": CONSULT_START.strip(),
              "respond": tool_call("bash", command="ls")}]
    run = run_with(rules, strategy="meta-prompting", limits={"max_reminders": 1})
    assert run.outcome.stop_reason == "malformed_replies"
    assert len(run.requests) == 2
    assert not any("tool_calls" in m for m in run.requests[1]["messages"])
    assert {call["malformed"] for call in run.trajectory["model_calls"]} == {
        "tool calls, but no tools were offered"}


def test_a_model_that_never_answers_ends_the_run_with_a_stop_reason(serve, repo, tmp_path):
    server = serve([{"name": "silent", "respond": {"hang": True}}])
    (tmp_path / "problem.md").write_text("add() subtracts instead of adding")
    (tmp_path / "limits.toml").write_text("[limits]\nmodel_timeout = 1\nmodel_retries = 1\n")
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "t",
           "PYTHONPATH": str(AGENT_DIR)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "coding_agent", "--repo", str(repo), "--problem",
         str(tmp_path / "problem.md"), "--out", str(tmp_path / "out"), "--strategy", "direct",
         "--config", str(tmp_path / "limits.toml")],
        cwd=AGENT_DIR, env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    traj = json.loads((tmp_path / "out" / "trajectory.json").read_text())
    assert (traj["exit_status"], traj["stop_reason"]) == ("error", "model_timeout"), done.stderr
    assert "no answer within 1s (2 tries)" in traj["error"]
    assert done.returncode == 1 and "no answer within 1s" in done.stderr
    assert len(server.requests) == 2  # the first try and one retry
    assert took < 60, f"{took:.0f}s: the timeout did not hold"


def test_huge_tool_arguments_are_shortened_in_the_trajectory(run_with, repo):
    content = "x = 1\n" * 700_000  # 4.2 MB
    rules = [
        {"name": "huge", "max_uses": 1, "respond": tool_call("create", path="big.py",
                                                             content=content)},
        {"name": "done", "last_message_contains": "Created big.py",
         "respond": tool_call("submit", summary="made big.py")},
    ]
    run = run_with(rules, strategy="direct")
    assert run.outcome.stop_reason == "submitted"
    assert (repo / "big.py").read_text() == content  # the tool got all of it
    size = (repo.parent / "out" / "trajectory.json").stat().st_size
    assert size < 200_000, f"the trajectory holds {size} bytes"
    [created, _] = run.trajectory["tool_calls"]
    assert "characters omitted" in created["arguments"]
    assert created["arguments"].startswith('{"path": "big.py", "content": "x = 1')
    sent = run.trajectory["messages"]["coder"][2]["tool_calls"][0]["function"]["arguments"]
    assert "characters omitted" in sent


def test_the_trajectory_file_keeps_its_size_bound_and_every_entry(tmp_path):
    trajectory = Trajectory(tmp_path, agent="test")
    trajectory.data["tool_calls"] = [{"name": "bash", "arguments": f"{n} " + "y" * 100_000}
                                     for n in range(1000)]  # 100 MB in memory
    trajectory.add_decision("end")
    size = trajectory.path.stat().st_size
    saved = json.loads(trajectory.path.read_text())
    assert size <= MAX_FILE_BYTES
    assert [call["arguments"].split()[0] for call in saved["tool_calls"]] == [
        str(n) for n in range(1000)]
    assert saved["decisions"][0]["kind"] == "end"

"""The coding loop against the scripted model over real HTTP."""

from __future__ import annotations

import json

from conftest import git, tool_call

USAGE = {"prompt_tokens": 10, "completion_tokens": 5}

FIX_RULES = [
    {"name": "look", "last_message_contains": "add() subtracts",
     "respond": {**tool_call("view", path="calc.py"), "usage": USAGE}},
    {"name": "edit", "last_message_contains": "return a - b",
     "respond": {**tool_call("str_replace", path="calc.py", old_str="return a - b",
                             new_str="return a + b"), "usage": USAGE}},
    {"name": "test", "last_message_contains": "Edited calc.py",
     "respond": {**tool_call("bash", command="python -c 'import calc; print(calc.add(2, 3))'"),
                 "usage": USAGE}},
    {"name": "done", "last_message_contains": "exit code: 0\n5",
     "respond": {**tool_call("submit", summary="add() adds now"), "usage": USAGE}},
]


def test_the_loop_fixes_a_bug_and_sums_usage(run_with, repo):
    run = run_with(FIX_RULES, strategy="direct")
    assert run.outcome.stop_reason == "submitted"
    assert "+    return a + b" in git(repo, "diff")
    traj = run.trajectory
    assert (traj["exit_status"], traj["stop_reason"], traj["summary"]) == (
        "ok", "submitted", "add() adds now")
    assert traj["usage"] == {"prompt_tokens": 40, "completion_tokens": 20, "total_tokens": 60,
                             "calls": 4}
    assert [c["name"] for c in traj["tool_calls"]] == ["view", "str_replace", "bash", "submit"]
    assert traj["messages"]["coder"][-1]["role"] == "tool"
    assert len(run.requests) == 4


def test_bad_tool_arguments_go_back_to_the_model(run_with):
    rules = [
        {"name": "broken json", "max_uses": 1, "last_message_contains": "add() subtracts",
         "respond": {"tool_calls": [{"name": "str_replace", "arguments": "{\"path\": \"calc"}]}},
        {"name": "missing field", "max_uses": 1, "last_message_contains": "not valid JSON",
         "respond": tool_call("str_replace", path="calc.py", old_str="a - b")},
        {"name": "give up", "last_message_contains": "bad arguments for str_replace",
         "respond": tool_call("submit", summary="saw the errors")},
    ]
    run = run_with(rules, strategy="direct")
    assert run.outcome.stop_reason == "submitted"
    tool_replies = [r["messages"][-1] for r in run.requests[1:]]
    assert all(m["role"] == "tool" and m["content"].startswith("Error") for m in tool_replies)
    assert [c["ok"] for c in run.trajectory["tool_calls"]] == [False, False, True]


def test_step_limit_holds(run_with):
    rules = [{"name": "forever", "respond": tool_call("bash", command="echo again")}]
    run = run_with(rules, strategy="direct", limits={"max_steps": 3})
    assert run.outcome.stop_reason == "step_limit"
    assert len(run.requests) == 3
    assert run.trajectory["stop_reason"] == "step_limit"


def test_cost_limit_holds(run_with):
    # 100 prompt tokens at $10,000 per million tokens: each call costs exactly $1.
    rules = [{"name": "forever", "respond": {**tool_call("bash", command="echo again"),
                                             "usage": {"prompt_tokens": 100,
                                                       "completion_tokens": 0}}}]
    run = run_with(rules, strategy="direct", limits={"cost_limit": 2.5},
                   pricing={"input": 10_000.0})
    assert run.outcome.stop_reason == "cost_limit"
    assert len(run.requests) == 3
    assert run.trajectory["cost"] == 3.0


def test_a_spent_gateway_budget_ends_the_run_cleanly(run_with):
    rules = [
        {"name": "first", "max_uses": 1, "respond": tool_call("bash", command="echo one")},
        {"name": "refuse", "respond": {"status": 402, "error": "the model budget is spent"}},
    ]
    run = run_with(rules, strategy="direct")
    assert run.outcome.stop_reason == "budget_exhausted"
    assert (run.trajectory["exit_status"], run.trajectory["usage"]["calls"]) == ("ok", 1)


def test_a_reply_without_tool_call_gets_a_reminder(run_with):
    rules = [
        {"name": "chatty", "max_uses": 1, "respond": {"content": "I think I know the fix."}},
        {"name": "then submit", "respond": tool_call("submit", summary="ok")},
    ]
    run = run_with(rules, strategy="direct")
    assert run.outcome.stop_reason == "submitted"
    reminder = run.requests[1]["messages"][-1]
    assert reminder["role"] == "user" and "submit" in reminder["content"]


def test_trajectory_is_valid_json_while_the_run_goes_on(run_with, tmp_path):
    # The model asks a command to read the trajectory mid-run: it must parse and say "running".
    probe = (f"python -c \"import json; t = json.load(open('{tmp_path}/out/trajectory.json')); "
             "print('STATUS', t['exit_status'], len(t['model_calls']))\"")
    rules = [
        {"name": "probe", "max_uses": 1, "respond": tool_call("bash", command=probe)},
        {"name": "done", "last_message_contains": "STATUS", "respond": tool_call("submit")},
    ]
    run = run_with(rules, strategy="direct")
    assert "STATUS running 1" in run.requests[1]["messages"][-1]["content"]
    assert json.loads(json.dumps(run.trajectory))["exit_status"] == "ok"


def test_an_unreachable_model_is_recorded_as_an_error(repo, tmp_path):
    import pytest

    from coding_agent.agent import run_agent
    from coding_agent.model import ModelError
    from coding_agent.settings import load_settings

    with pytest.raises(ModelError):
        run_agent(repo, "anything", tmp_path / "out", load_settings(),
                  base_url="http://127.0.0.1:9/v1")
    traj = json.loads((tmp_path / "out" / "trajectory.json").read_text())
    assert (traj["exit_status"], traj["stop_reason"]) == ("error", "model_error")

"""The agent contract: `python -m coding_agent --repo --problem --out`, and its data file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import git, tool_call
from pydantic import ValidationError

from coding_agent.__main__ import main
from coding_agent.meta_prompting import call_syntax
from coding_agent.meta_reasoning import ranking_syntax
from coding_agent.settings import DATA_FILE, load_settings, render

AGENT_DIR = Path(__file__).resolve().parents[1]
EDIT_RULES = [
    {"name": "edit", "last_message_contains": "add() subtracts",
     "respond": tool_call("str_replace", path="calc.py", old_str="a - b", new_str="a + b")},
    {"name": "done", "last_message_contains": "Edited calc.py",
     "respond": tool_call("submit", summary="fixed")},
]


def test_the_command_line_fixes_the_bug_and_writes_the_trajectory(serve, repo, tmp_path,
                                                                   monkeypatch):
    server = serve(EDIT_RULES)
    problem = tmp_path / "problem.md"
    problem.write_text("add() subtracts instead of adding")
    for name, value in [("OPENAI_BASE_URL", server.base_url), ("OPENAI_API_KEY", "sandbox-token"),
                        ("AGENTFORGE_MODEL", "scripted-model")]:
        monkeypatch.setenv(name, value)
    code = main(["--repo", str(repo), "--problem", str(problem), "--out", str(tmp_path / "o"),
                 "--strategy", "direct"])
    assert code == 0
    assert "+    return a + b" in git(repo, "diff")
    traj = json.loads((tmp_path / "o" / "trajectory.json").read_text())
    assert (traj["stop_reason"], traj["model"], traj["strategy"]) == (
        "submitted", "scripted-model", "direct")
    assert {r["model"] for r in server.requests} == {"scripted-model"}


def test_the_command_line_needs_the_gateway_url(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["--repo", str(repo), "--problem", "p", "--out", str(tmp_path)])
    assert exited.value.code == 2 and "OPENAI_BASE_URL" in capsys.readouterr().err


def test_a_killed_agent_process_leaves_a_valid_trajectory(serve, repo, tmp_path):
    # The one test that starts `python -m coding_agent` as its own process, as sandboxes do.
    server = serve([{"name": "slow", "respond": tool_call("bash", command="sleep 60")}])
    problem = tmp_path / "problem.md"
    problem.write_text("anything")
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "coding_agent", "--repo", str(repo), "--problem", str(problem),
         "--out", str(out), "--strategy", "direct"], cwd=AGENT_DIR,
        env={**os.environ, "OPENAI_BASE_URL": server.base_url}, stderr=subprocess.DEVNULL)
    try:
        # Wait for the trajectory that says the first call is done (the agent is then inside
        # the 60 s command); polled, not slept, so a loaded machine is only slower.
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and _calls_written(out) < 1:
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    traj = json.loads((out / "trajectory.json").read_text())
    assert traj["exit_status"] == "running" and traj["usage"]["calls"] == 1


def _calls_written(out) -> int:
    try:
        return json.loads((out / "trajectory.json").read_text())["usage"]["calls"]
    except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
        return 0


def test_the_first_model_call_does_not_wait_for_langgraph():
    # Everything the run needs up to the ranker's call, imported in a fresh interpreter: the
    # slow LangGraph stack (langchain_core, langsmith) must not be among it (see loop.py).
    probe = ("import sys, coding_agent.__main__, coding_agent.agent; "
             "print(sorted({m.split('.')[0] for m in sys.modules} "
             "& {'langgraph', 'langchain_core', 'langsmith'}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=AGENT_DIR, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_every_prompt_renders_with_the_variables_the_code_passes():
    settings = load_settings()
    p = settings.prompts
    values = {"repo": "/workspace", "problem": "P", "instructions": "I", "name": "N",
              "answer": "A", "experts": settings.experts, "approaches": settings.approaches,
              "max_rounds": 3, "call_syntax": call_syntax(), "ranking_syntax": ranking_syntax()}
    for field in type(p).model_fields:
        assert render(getattr(p, field), **values), field
    assert call_syntax() in render(p.conductor_reminder, call_syntax=call_syntax())
    assert all(a.description for a in settings.approaches)
    assert {"reproduce-first", "test-driven", "direct-edit", "plan-then-edit",
            "meta-prompting"} <= {a.name for a in settings.approaches}
    assert any(e.uses_tools for e in settings.experts)


def test_a_prompt_that_drops_the_reply_syntax_is_rejected():
    with pytest.raises(ValidationError, match="call_syntax"):
        load_settings(overrides={"prompts": {"conductor_system": "You conduct."}})


def test_an_override_file_is_merged_over_config_toml(tmp_path):
    override = tmp_path / "o.toml"
    override.write_text('strategy = "direct"\n[limits]\nmax_steps = 7\n')
    settings = load_settings(override)
    base = tomllib.loads(DATA_FILE.read_text())
    assert (settings.strategy, settings.limits.max_steps) == ("direct", 7)
    assert settings.limits.max_rounds == base["limits"]["max_rounds"]
    with pytest.raises(ValidationError, match="strategy"):
        load_settings(overrides={"strategy": "telepathy"})

"""`agentforge model check` against scripted servers that do and don't support tool calls."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentforge.llm.check import check_endpoint
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

CHAT = {"last_message_contains": "pong", "not_contains": "weather",
        "respond": {"content": "pong"}}
WORKING = {"rules": [CHAT, {"tools_offered": "get_weather", "respond": {
    "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}}]}
# What vLLM answers when started without --enable-auto-tool-choice.
NO_TOOLS = {"rules": [CHAT, {"tools_offered": "get_weather", "respond": {
    "status": 400, "error": '"auto" tool choice requires --enable-auto-tool-choice and '
                            '--tool-call-parser to be set'}}]}
IGNORES_TOOLS = {"rules": [CHAT, {"tools_offered": "get_weather", "respond": {
    "content": "<tool_call>{\"name\": \"get_weather\"}</tool_call>"}}]}


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", "model", "check", *args],
                          capture_output=True, text=True, timeout=120)


def test_working_endpoint_passes_both_probes():
    with ScriptedServer(WORKING) as server:
        report = check_endpoint(Endpoint(server.base_url, "scripted"))
    assert report.ok and report.chat.ok and report.tools.ok and not report.hint
    assert report.chat.prompt_tokens > 0 and report.chat.latency_s > 0
    assert "Paris" in report.tools.detail


@pytest.mark.parametrize("script", [NO_TOOLS, IGNORES_TOOLS])
def test_vllm_without_tool_flags_gets_the_flags_in_a_hint(script):
    with ScriptedServer(script) as server:
        report = check_endpoint(Endpoint(server.base_url, "m", provider="vllm"))
    assert report.chat.ok and not report.tools.ok and not report.ok
    assert "--enable-auto-tool-choice" in report.hint and "--tool-call-parser" in report.hint


@pytest.mark.slow
def test_cli_exit_status_and_json():
    with ScriptedServer(WORKING) as good, ScriptedServer(NO_TOOLS) as bad:
        passed = run_check("--endpoint", good.base_url, "--model", "scripted", "--json")
        failed = run_check("--endpoint", bad.base_url, "--model", "scripted")
    assert passed.returncode == 0, passed.stderr
    report = json.loads(passed.stdout)
    assert report["ok"] and report["tools"]["ok"] and report["chat"]["completion_tokens"] > 0
    assert failed.returncode == 1
    assert "ok   chat" in failed.stdout and "FAIL tool calling" in failed.stdout
    assert "tool choice requires" in failed.stdout


@pytest.mark.slow
def test_cli_with_a_scripted_spec(tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps(WORKING))
    assert run_check("--model", f"scripted:{script}").returncode == 0


@pytest.mark.slow
def test_cli_unreachable_endpoint_fails_with_a_message():
    result = run_check("--endpoint", "http://127.0.0.1:9/v1", "--model", "m")
    assert result.returncode == 1 and "127.0.0.1:9" in result.stdout


def test_doctor_checks_the_configured_model_only(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "AGENTFORGE_MODEL_SPEC"}
    probe = ("from agentforge.commands.doctor import check_model; c = check_model(); "
             "print('none' if c is None else f'{c.ok} {c.detail}')")
    unset = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                           text=True, timeout=120)
    assert unset.stdout.strip() == "none"
    with ScriptedServer(NO_TOOLS) as server:
        configured = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
            env={**env, "AGENTFORGE_MODEL_SPEC": "scripted",
                 "AGENTFORGE_MODEL_ENDPOINT": server.base_url})
    assert configured.stdout.startswith("False"), configured.stderr
    assert "chat ok" in configured.stdout and "--tool-call-parser" in configured.stdout

"""Reasoning models take `max_completion_tokens`, not `max_tokens`: chosen by model name, or
learned from an endpoint's 400 that names the parameter; by ModelClient, the gateway and
`model check`."""

from __future__ import annotations

import subprocess
import sys
import uuid

import openai
import pytest

from agentforge.llm.check import check_endpoint
from agentforge.llm.client import ModelClient
from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.params import (
    MAX_COMPLETION_TOKENS,
    MAX_TOKENS,
    learn_from_error,
    token_param,
)
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

OPENAI_400 = ("Unsupported parameter: 'max_tokens' is not supported with this model. "
              "Use 'max_completion_tokens' instead.")
# Like OpenAI's reasoning models: a request with max_tokens is refused, others answered.
REJECTS_MAX_TOKENS = {"rules": [
    {"has_param": "max_tokens", "respond": {"status": 400, "error": OPENAI_400}},
    {"tools_offered": "get_weather", "respond": {
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}},
    {"respond": {"content": "pong"}},
]}
FAST = RetryPolicy(attempts=2, initial_backoff=0.01, timeout=30)


def fresh_model(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"  # what was learned is per process and model


@pytest.mark.parametrize(("model", "param"), [
    ("o1", MAX_COMPLETION_TOKENS), ("o3-mini", MAX_COMPLETION_TOKENS),
    ("o4-mini-2025-04-16", MAX_COMPLETION_TOKENS), ("gpt-5", MAX_COMPLETION_TOKENS),
    ("openai/gpt-5-mini", MAX_COMPLETION_TOKENS), ("gpt-4o-mini", MAX_TOKENS),
    ("Qwen/Qwen2.5-Coder-32B-Instruct", MAX_TOKENS), ("omni-coder", MAX_TOKENS),
])
def test_the_rule_by_model_name(model, param):
    assert token_param(model) == param


def test_only_an_error_naming_the_sent_parameter_as_unsupported_teaches():
    model = fresh_model("acme")
    assert learn_from_error(model, MAX_TOKENS, "'max_tokens' must be at most 4096") is None
    assert learn_from_error(model, MAX_TOKENS, "rate limited") is None
    assert token_param(model) == MAX_TOKENS
    assert learn_from_error(model, MAX_TOKENS, OPENAI_400) == MAX_COMPLETION_TOKENS
    assert token_param(model) == MAX_COMPLETION_TOKENS


def test_client_sends_max_completion_tokens_to_a_reasoning_model():
    with ScriptedServer(REJECTS_MAX_TOKENS) as server:
        client = ModelClient(Endpoint(server.base_url, "o3-mini"), retry=FAST,
                             defaults={"max_tokens": 64})
        assert client.chat([{"role": "user", "content": "ping"}]).choices[0].message.content
    [request] = server.requests
    assert request["max_completion_tokens"] == 64 and "max_tokens" not in request


def test_client_learns_the_parameter_from_a_400():
    model = fresh_model("acme-reasoner")
    with ScriptedServer(REJECTS_MAX_TOKENS) as server:
        client = ModelClient(Endpoint(server.base_url, model), retry=FAST)
        for _ in range(2):
            reply = client.chat([{"role": "user", "content": "ping"}], max_tokens=32)
            assert reply.choices[0].message.content == "pong"
    first, retried, second = server.requests
    assert first["max_tokens"] == 32 and retried["max_completion_tokens"] == 32
    assert "max_tokens" not in second  # learned once, used from then on
    assert client.token_param_sent == MAX_COMPLETION_TOKENS


def test_gateway_translates_and_learns(tmp_path):
    learner = fresh_model("acme-thinker")
    with ScriptedServer(REJECTS_MAX_TOKENS) as server:
        for model in ("o4-mini", learner):
            ledger = Ledger(tmp_path / f"{model}.db")
            with Gateway(Endpoint(server.base_url, model, api_key="k"), ledger, retry=FAST,
                         tcp_port=0) as gw:
                grant = gw.grant(run_id="r")
                client = openai.OpenAI(base_url=gw.tcp_base_url, api_key=grant.token,
                                       max_retries=0)
                for stream in (False, True):
                    reply = client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": f"hi {stream}"}],
                        max_tokens=50, stream=stream)
                    if stream:
                        assert "".join(c.choices[0].delta.content or ""
                                       for c in reply if c.choices) == "pong"
                    else:
                        assert reply.choices[0].message.content == "pong"
                gw.flush()
            assert [c.status for c in ledger.calls(run_id="r")] == ["ok", "ok"]
    sent = [r.get("max_completion_tokens") or ("max_tokens", r.get("max_tokens"))
            for r in server.requests]
    # o4-mini by name; the unknown model once refused, then learned (stream included).
    assert sent == [50, 50, ("max_tokens", 50), 50, 50]


def test_model_check_says_which_parameter_it_used():
    with ScriptedServer(REJECTS_MAX_TOKENS) as server:
        report = check_endpoint(Endpoint(server.base_url, "gpt-5-mini"))
        assert report.ok, report
        assert (report.token_param, report.token_param_reason) == (
            MAX_COMPLETION_TOKENS, "reasoning model (o-series / gpt-5) by name")
        done = subprocess.run(
            [sys.executable, "-m", "agentforge", "model", "check", "--endpoint",
             server.base_url, "--model", fresh_model("acme-check")],
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("completion cap sent as max_completion_tokens (learned from the endpoint's error)"
            in done.stdout)

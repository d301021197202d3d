"""The model client sends what the endpoint accepts: max_completion_tokens (and no
temperature) to OpenAI's reasoning models, by name or after a 400 that names the parameter;
retries what a busy server refuses, and nothing else."""

from __future__ import annotations

import pytest

from coding_agent.model import LimitReached, Model, ModelError
from coding_agent.settings import load_settings
from coding_agent.trajectory import Trajectory

CAP_400 = ("Unsupported parameter: 'max_tokens' is not supported with this model. "
           "Use 'max_completion_tokens' instead.")
TEMPERATURE_400 = ("Unsupported value: 'temperature' does not support 0.0 with this model. "
                   "Only the default (1) value is supported.")
# Answers like OpenAI's reasoning models: max_tokens and temperature are refused.
REASONER = [
    {"has_param": "max_tokens", "respond": {"status": 400, "error": CAP_400}},
    {"has_param": "temperature", "respond": {"status": 400, "error": TEMPERATURE_400}},
    {"respond": {"content": "pong"}},
]


def model_for(server, name: str, tmp_path) -> Model:
    settings = load_settings()
    trajectory = Trajectory(tmp_path / "out", model=name, strategy="direct",
                            limits=settings.limits.model_dump(), approach=None)
    return Model(base_url=server.base_url, api_key="test", name=name, limits=settings.limits,
                 pricing=settings.pricing, trajectory=trajectory)


def ask(model: Model) -> str:
    return model.chat("main", [{"role": "user", "content": "ping"}])["content"]


def test_a_reasoning_model_gets_max_completion_tokens_by_name(serve, tmp_path):
    server = serve(REASONER)
    assert ask(model_for(server, "o3-mini", tmp_path)) == "pong"
    [request] = server.requests
    assert request["max_completion_tokens"] == load_settings().limits.max_tokens
    assert "max_tokens" not in request and "temperature" not in request


def test_an_unknown_model_is_learned_from_the_400s(serve, tmp_path):
    server = serve(REASONER)
    model = model_for(server, "house-reasoner", tmp_path)
    assert ask(model) == "pong" and ask(model) == "pong"
    sent = [sorted(set(r) & {"max_tokens", "max_completion_tokens", "temperature"})
            for r in server.requests]
    assert sent == [["max_tokens", "temperature"], ["max_completion_tokens", "temperature"],
                    ["max_completion_tokens"], ["max_completion_tokens"]]


def test_other_models_keep_max_tokens_and_temperature(serve, tmp_path):
    server = serve([{"respond": {"content": "pong"}}])
    assert ask(model_for(server, "Qwen/Qwen2.5-Coder-32B-Instruct", tmp_path)) == "pong"
    [request] = server.requests
    assert request["max_tokens"] == load_settings().limits.max_tokens
    assert request["temperature"] == 0.0 and "max_completion_tokens" not in request


def test_a_busy_or_failing_server_is_asked_again_until_it_answers(serve, tmp_path):
    server = serve([{"max_uses": 1, "respond": {"status": 429, "error": "slow down"}},
                    {"max_uses": 1, "respond": {"status": 503, "error": "overloaded"}},
                    {"respond": {"content": "pong"}}])
    assert ask(model_for(server, "m", tmp_path)) == "pong"  # model_retries = 2
    assert len(server.requests) == 3


def test_a_refused_request_is_not_retried_and_says_why(serve, tmp_path):
    server = serve([{"respond": {"status": 401, "error": "invalid api key"}}])
    with pytest.raises(ModelError, match="HTTP 401.*invalid api key"):
        ask(model_for(server, "m", tmp_path))
    assert len(server.requests) == 1


def test_a_spent_gateway_budget_stops_the_run_with_its_reason(serve, tmp_path):
    server = serve([{"respond": {"status": 402, "error": "budget exhausted"}}])
    with pytest.raises(LimitReached) as stopped:
        ask(model_for(server, "m", tmp_path))
    assert stopped.value.reason == "budget_exhausted" and len(server.requests) == 1

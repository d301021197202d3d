"""ModelClient over real HTTP to the scripted server: retries, errors, ledger, cache."""

from __future__ import annotations

import pytest

from agentforge.llm.client import ModelClient
from agentforge.llm.config import LLMConfig, RetryPolicy, RoleModel
from agentforge.llm.errors import ModelRequestError, ModelUnavailable
from agentforge.llm.ledger import CallContext, Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

FAST = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05, timeout=5)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


SCRIPT = {"rules": [
    # The first two answers to "flaky" fail (429 then 500); the third succeeds.
    {"last_message_contains": "flaky", "max_uses": 1, "respond": {"status": 429}},
    {"last_message_contains": "flaky", "max_uses": 1, "respond": {"status": 500}},
    {"last_message_contains": "flaky", "respond": {"content": "finally",
                                                    "usage": {"prompt_tokens": 1000,
                                                              "completion_tokens": 100}}},
    {"last_message_contains": "always busy", "respond": {"status": 503, "error": "overloaded"}},
    {"last_message_contains": "slow", "respond": {"content": "late", "delay": 1.5}},
    {"last_message_contains": "cache me", "respond": {"content": "cached answer"}},
]}


@pytest.fixture()
def server():
    with ScriptedServer(SCRIPT) as srv:
        yield srv


def endpoint_of(server: ScriptedServer, model: str = "gpt-4o-mini") -> Endpoint:
    return Endpoint(base_url=server.base_url, model=model)


def test_retries_429_and_500_then_succeeds_and_books_the_call(server, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    client = ModelClient(endpoint_of(server), retry=FAST, ledger=ledger,
                         context=CallContext(run_id="r", role="diagnose"))
    reply = client.chat(user("flaky"))
    assert reply.choices[0].message.content == "finally"
    assert len(server.requests) == 3
    [call] = ledger.calls(run_id="r")
    assert (call.prompt_tokens, call.completion_tokens, call.role) == (1000, 100, "diagnose")
    assert call.cost_usd == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)


def test_persistent_5xx_is_surfaced_naming_the_endpoint(server, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    client = ModelClient(endpoint_of(server), retry=FAST, ledger=ledger)
    with pytest.raises(ModelUnavailable) as caught:
        client.chat(user("always busy"))
    message = str(caught.value)
    assert server.base_url in message and "3 attempt" in message and "503" in message
    assert len(server.requests) == 3
    assert ledger.calls()[0].status == "error"


def test_timeouts_are_retried_then_surfaced(server):
    client = ModelClient(endpoint_of(server), retry=FAST.model_copy(update={"timeout": 0.3}))
    with pytest.raises(ModelUnavailable, match="Timeout"):
        client.chat(user("slow"))
    assert len(server.requests) == 3


def test_a_4xx_is_not_retried(server):
    client = ModelClient(endpoint_of(server), retry=FAST)
    with pytest.raises(ModelRequestError, match="no rule"):
        client.chat(user("unscripted"))
    assert len(server.requests) == 1


def test_nothing_listening_is_unavailable():
    client = ModelClient(Endpoint(base_url="http://127.0.0.1:9/v1", model="m"), retry=FAST)
    with pytest.raises(ModelUnavailable, match="127.0.0.1:9"):
        client.chat(user("hi"))


def test_cache_answers_a_repeated_request_without_a_call(server, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    client = ModelClient(endpoint_of(server), retry=FAST, ledger=ledger, use_cache=True,
                         context=CallContext(run_id="r"))
    first = client.chat(user("cache me"))
    # A new client on the same database: a resumed run.
    again = ModelClient(endpoint_of(server), retry=FAST, ledger=Ledger(tmp_path / "l.db"),
                        use_cache=True, context=CallContext(run_id="r")).chat(user("cache me"))
    assert again.choices[0].message.content == first.choices[0].message.content
    assert len(server.requests) == 1
    assert [c.cached for c in ledger.calls(run_id="r")] == [False, True]
    assert ledger.spend(run_id="r").calls == 1


def test_a_new_self_improvement_step_asks_the_model_afresh(server, tmp_path):
    # The same parent, asked the same thing by two steps: the second step is a new sample,
    # not the first step's answer replayed (which made every re-expansion a copy).
    ledger = Ledger(tmp_path / "l.db")
    for step in ("step-1", "step-2", "step-2"):
        ModelClient(endpoint_of(server), retry=FAST, ledger=ledger, use_cache=True,
                    context=CallContext(run_id="r", node_id=1, role="diagnose",
                                        step_id=step)).chat(user("cache me"))
    assert len(server.requests) == 2
    assert [c.cached for c in ledger.calls(run_id="r")] == [False, False, True]


def test_for_role_uses_role_settings(server, tmp_path):
    config = LLMConfig(agent=RoleModel(spec="m", endpoint=server.base_url, temperature=0.0,
                                       max_tokens=64), retry=FAST)
    client = ModelClient.for_role("agent", config)
    assert client.chat(user("cache me")).choices[0].message.content == "cached answer"
    sent = server.requests[-1]
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("m", 0.0, 64)
    assert client.context.role == "agent"


def test_cache_is_scoped_to_the_run(server, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    for run in ("r1", "r2", "r1"):
        ModelClient(endpoint_of(server), retry=FAST, ledger=ledger, use_cache=True,
                    context=CallContext(run_id=run)).chat(user("cache me"))
    assert len(server.requests) == 2  # r2 asked afresh; r1's repeat came from the cache

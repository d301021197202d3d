"""The gateway on the host: the openai client -> gateway (TCP, unix socket) -> scripted model."""

from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

FAST = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05, timeout=5)

SCRIPT = {"rules": [
    {"last_message_contains": "hello", "respond": {
        "content": "Hello through the gateway.", "usage": {"prompt_tokens": 40,
                                                           "completion_tokens": 10}}},
    {"last_message_contains": "flaky", "max_uses": 1, "respond": {"status": 429}},
    {"last_message_contains": "flaky", "max_uses": 1, "respond": {"status": 500}},
    {"last_message_contains": "flaky", "respond": {"content": "recovered"}},
    {"last_message_contains": "always 500", "respond": {"status": 500, "error": "boom"}},
    {"last_message_contains": "always 429", "respond": {"status": 429, "error": "slow down"}},
    {"last_message_contains": "too slow", "respond": {"content": "late", "delay": 2}},
    {"last_message_contains": "garbage", "respond": {"raw_body": "{this is not json"}},
    {"last_message_contains": "cut", "respond": {"content": "y" * 400, "cut_stream": True}},
    {"last_message_contains": "tool please", "respond": {
        "tool_calls": [{"name": "bash", "arguments": {"command": "ls"}}]}},
]}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture()
def upstream():
    with ScriptedServer(SCRIPT) as server:
        yield server


@pytest.fixture()
def ledger(tmp_path):
    return Ledger(tmp_path / "ledger.db")


@pytest.fixture()
def gateway(upstream, ledger):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="sk-real")
    with Gateway(endpoint, ledger, retry=FAST, tcp_port=0) as gw:
        yield gw


def client_for(gateway: Gateway, token: str, timeout: float = 30) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.tcp_base_url, api_key=token, max_retries=0,
                         timeout=timeout)


def test_forwards_books_and_rewrites_the_model(gateway, upstream, ledger):
    grant = gateway.grant(run_id="r1", node_id=2, task_id="t1", role="agent")
    reply = client_for(gateway, grant.token).chat.completions.create(
        model="whatever-the-agent-says", messages=user("hello"))
    assert reply.choices[0].message.content == "Hello through the gateway."
    assert upstream.requests[-1]["model"] == "gpt-4o-mini"
    gateway.flush()
    [call] = ledger.calls(run_id="r1")
    assert (call.node_id, call.task_id, call.role, call.status) == (2, "t1", "agent", "ok")
    assert (call.prompt_tokens, call.completion_tokens) == (40, 10)
    assert call.cost_usd == pytest.approx((40 * 0.15 + 10 * 0.60) / 1e6)
    assert call.endpoint == upstream.base_url and call.latency_s > 0


def test_unknown_key_is_refused(gateway, upstream):
    with pytest.raises(openai.AuthenticationError, match="OPENAI_API_KEY this sandbox"):
        client_for(gateway, "sk-guess").chat.completions.create(model="m", messages=user("hello"))
    grant = gateway.grant(run_id="r")
    grant.revoke()
    with pytest.raises(openai.AuthenticationError):
        client_for(gateway, grant.token).chat.completions.create(model="m",
                                                                 messages=user("hello"))
    assert upstream.requests == []


def test_streaming_with_tool_calls_and_usage(gateway, ledger):
    grant = gateway.grant(run_id="r", task_id="t")
    stream = client_for(gateway, grant.token).chat.completions.create(
        model="m", messages=user("tool please"), stream=True)
    arguments = ""
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                arguments += delta.function.arguments or ""
    assert json.loads(arguments) == {"command": "ls"}
    gateway.flush()
    [call] = ledger.calls(run_id="r")
    assert call.streamed and call.status == "ok" and call.completion_tokens > 0


def test_cache_hit_makes_no_upstream_call(gateway, upstream, ledger):
    grant = gateway.grant(run_id="r", node_id=1, task_id="t")
    client = client_for(gateway, grant.token)
    for stream in (False, True):
        first = client.chat.completions.create(model="m", messages=user("hello"), stream=stream)
        if stream:
            list(first)  # read to the end: only a complete answer is cached
        calls_before = len(upstream.requests)
        again = client.chat.completions.create(model="m", messages=user("hello"), stream=stream)
        assert len(upstream.requests) == calls_before
        if not stream:
            assert again.choices[0].message.content == first.choices[0].message.content
        else:
            text = "".join(c.choices[0].delta.content or "" for c in again if c.choices)
            assert text == "Hello through the gateway."
    gateway.flush()
    assert [c.cached for c in ledger.calls(run_id="r")] == [False, True, False, True]
    assert ledger.spend(run_id="r").calls == 2  # cache hits cost nothing


def test_task_token_budget_stops_spend_with_a_readable_error(gateway, upstream, ledger):
    grant = gateway.grant(run_id="r", node_id=1, task_id="t", budget=Budget(tokens=100))
    client = client_for(gateway, grant.token)
    answered = 0
    with pytest.raises(openai.APIStatusError) as caught:
        for i in range(10):  # 50 tokens a call: the third call is refused
            client.chat.completions.create(model="m", messages=user(f"hello {i}"))
            answered += 1
    assert answered == 2 and caught.value.status_code == 402
    assert "budget of task t" in str(caught.value) and "100 tokens" in str(caught.value)
    upstream_calls = len(upstream.requests)
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="m", messages=user("hello again"))
    assert len(upstream.requests) == upstream_calls == 2
    gateway.flush()
    assert ledger.spend(run_id="r").tokens == 100
    assert [c.status for c in ledger.calls(run_id="r")][-2:] == ["budget_exceeded"] * 2
    # Another task of the same run still has its own budget.
    other = gateway.grant(run_id="r", node_id=1, task_id="t2", budget=Budget(tokens=100))
    assert client_for(gateway, other.token).chat.completions.create(
        model="m", messages=user("hello")).choices[0].message.content


def test_run_dollar_budget_spans_tasks_and_survives_a_new_gateway(upstream, ledger):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="k")
    cost = (40 * 0.15 + 10 * 0.60) / 1e6
    with Gateway(endpoint, ledger, retry=FAST, tcp_port=0) as gw:
        for task in ("a", "b"):
            grant = gw.grant(run_id="r", task_id=task, run_budget=Budget(usd=cost * 2.5))
            client_for(gw, grant.token).chat.completions.create(model="m",
                                                                messages=user("hello"))
    # A resumed run: a fresh gateway on the same ledger remembers what was spent.
    with Gateway(endpoint, ledger, retry=FAST, tcp_port=0) as gw:
        grant = gw.grant(run_id="r", task_id="c", run_budget=Budget(usd=cost * 2.5))
        client = client_for(gw, grant.token)
        client.chat.completions.create(model="m", messages=user("hello c"))
        with pytest.raises(openai.APIStatusError, match="budget of run r"):
            client.chat.completions.create(model="m", messages=user("hello d"))


def test_429_and_500_are_retried(gateway, upstream):
    grant = gateway.grant(run_id="r")
    reply = client_for(gateway, grant.token).chat.completions.create(model="m",
                                                                    messages=user("flaky"))
    assert reply.choices[0].message.content == "recovered"
    assert len(upstream.requests) == 3


@pytest.mark.parametrize(("text", "error", "status"), [
    ("always 500", openai.InternalServerError, 502),
    ("always 429", openai.RateLimitError, 429),
    ("too slow", openai.APIStatusError, 504),
])
def test_persistent_failures_are_surfaced_after_retries(upstream, ledger, text, error, status):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="k")
    policy = FAST.model_copy(update={"timeout": 0.5})
    with Gateway(endpoint, ledger, retry=policy, tcp_port=0) as gw:
        grant = gw.grant(run_id="r")
        with pytest.raises(error) as caught:
            client_for(gw, grant.token).chat.completions.create(model="m", messages=user(text))
        gw.flush()
    assert caught.value.status_code == status
    assert upstream.base_url in str(caught.value) and "after 3 attempt(s)" in str(caught.value)
    assert len(upstream.requests) == 3
    assert ledger.calls(run_id="r")[0].status == "error"


@pytest.mark.parametrize("stream", [False, True])
def test_garbage_upstream_gives_a_clear_error_and_others_are_served(gateway, stream):
    grant = gateway.grant(run_id="r")
    client = client_for(gateway, grant.token)

    def ask(text: str):
        try:
            reply = client.chat.completions.create(model="m", messages=user(text), stream=stream)
            if stream:
                return "".join(c.choices[0].delta.content or "" for c in reply if c.choices)
            return reply.choices[0].message.content
        except openai.APIError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(ask, ["garbage", "cut", "hello 1", "hello 2", "garbage",
                                      "hello 3"]))
    for text, answer in zip(["garbage", "cut"], answers[:2], strict=True):
        assert isinstance(answer, openai.APIError), (text, answer)
        assert "agentforge gateway" in str(answer) and "model server" in str(answer)
    assert answers[2] == answers[3] == answers[5] == "Hello through the gateway."


def test_unix_socket_speaks_http(gateway):
    grant = gateway.grant(run_id="r")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(gateway.socket_path))
    connection = http.client.HTTPConnection("gateway")
    connection.sock = sock
    body = json.dumps({"model": "m", "messages": user("hello")})
    connection.request("POST", "/v1/chat/completions", body, {
        "Authorization": f"Bearer {grant.token}", "Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    assert answer["choices"][0]["message"]["content"] == "Hello through the gateway."
    assert oct(gateway.socket_path.stat().st_mode & 0o777) == "0o666"


def test_thirty_two_concurrent_callers(gateway, upstream, ledger):
    grants = [gateway.grant(run_id="r", task_id=f"t{i}") for i in range(4)]

    def ask(i: int) -> str:
        client = client_for(gateway, grants[i % 4].token, timeout=60)
        return client.chat.completions.create(model="m", messages=user(f"hello {i}")
                                              ).choices[0].message.content

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(ask, range(64)))
    assert answers == ["Hello through the gateway."] * 64
    gateway.flush()
    assert ledger.spend(run_id="r").calls == 64
    assert ledger.spend(run_id="r", task_id="t3").calls == 16


def test_forwarder_relays_loopback_to_the_socket(gateway, tmp_path):
    """forwarder.py as the sandbox runs it (standalone, -I), here on the host."""
    import subprocess
    import sys
    import time

    port_file = tmp_path / "port"
    forwarder = gateway.socket_dir / "forwarder.py"
    process = subprocess.Popen([sys.executable, "-I", str(forwarder), "--socket",
                                str(gateway.socket_path), "--port", "0", "--port-file",
                                str(port_file)])
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        grant = gateway.grant(run_id="r")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port_file.read_text()}/v1",
                               api_key=grant.token, max_retries=0, timeout=30)
        reply = client.chat.completions.create(model="m", messages=user("hello"))
        assert reply.choices[0].message.content == "Hello through the gateway."
        stream = client.chat.completions.create(model="m", messages=user("hello you"),
                                                stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
            "Hello through the gateway.")
    finally:
        process.terminate()
        process.wait(timeout=30)

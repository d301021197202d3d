"""The gateway's own limits on the host (fast; tests/faults has them from inside sandboxes):
reservations and caps, unknown fields, grant sockets, bodies, the open-file limit."""

from __future__ import annotations

import contextlib
import http.client
import json
import resource
import socket
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.gateway.budget import estimate_prompt_tokens
from agentforge.llm.gateway.server import ServerLimits
from agentforge.llm.ledger import Ledger
from agentforge.llm.params import OPENAI_CHAT_FIELDS
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

# Slow answers keep calls in flight while the others arrive.
SCRIPT = {"rules": [{"respond": {"content": "fine", "delay": 2}}]}
FAST = RetryPolicy(attempts=2, initial_backoff=0.01, timeout=30)


@pytest.fixture()
def upstream():
    with ScriptedServer(SCRIPT) as server:
        yield server


@pytest.fixture()
def gateway(upstream, tmp_path):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="k")
    limits = ServerLimits(max_body_bytes=64 * 1024)
    with Gateway(endpoint, Ledger(tmp_path / "l.db"), retry=FAST, tcp_port=0,
                 limits=limits) as gw:
        yield gw


def ask(gateway, token, text, **extra):
    client = openai.OpenAI(base_url=gateway.tcp_base_url, api_key=token, max_retries=0,
                           timeout=60)
    try:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}],
                                       extra_body=extra)
        return "ok"
    except openai.APIStatusError as exc:
        return exc.status_code


def test_calls_in_flight_hold_their_worst_case(gateway, upstream):
    grant = gateway.grant(run_id="r", task_id="t", budget=Budget(tokens=100))
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: ask(gateway, grant.token, f"call {i}",
                                              max_tokens=40), range(10)))
    # Two calls of ~47 tokens at most fit at once; the others are told to retry (429), not
    # that the budget is spent (402): little of it was used.
    assert answers.count("ok") >= 1 and 429 in answers and set(answers) <= {"ok", 429}
    assert len(upstream.requests) == answers.count("ok")
    assert all(0 < r["max_tokens"] <= 40 for r in upstream.requests)  # lowered to fit
    gateway.flush()
    assert gateway.ledger.spend(run_id="r", task_id="t").tokens <= 100


def test_a_huge_cap_is_lowered_and_unknown_fields_are_dropped(gateway, upstream):
    grant = gateway.grant(run_id="r", task_id="t", budget=Budget(tokens=100))
    assert ask(gateway, grant.token, "greedy", max_tokens=10**6, n=500, store=True,
               service_tier="priority", chat_template_kwargs={"x": 1}) == "ok"
    [sent] = upstream.requests
    assert set(sent) <= OPENAI_CHAT_FIELDS
    prompt = estimate_prompt_tokens(sent)
    assert sent["n"] * sent["max_tokens"] + prompt <= 100 and sent["n"] < 500


def test_counts_that_are_not_integers_are_refused_not_passed_on(gateway, upstream):
    # A hostile agent's way around the reservation: the budget reads only integers, and a
    # lenient upstream would coerce "1000000" or 50.0 into real counts.
    grant = gateway.grant(run_id="r", task_id="t", budget=Budget(tokens=10**7))
    for extra in ({"max_tokens": "1000000"}, {"max_completion_tokens": 1e6}, {"n": "50"},
                  {"n": 50.0}, {"n": True}, {"max_tokens": 0}):
        assert ask(gateway, grant.token, "sneaky", **extra) == 400, extra
    assert upstream.requests == []
    assert ask(gateway, grant.token, "honest", max_tokens=50, n=2) == "ok"
    assert len(upstream.requests) == 1


def test_a_request_without_a_cap_gets_one_only_when_the_budget_is_short(gateway, upstream):
    roomy = gateway.grant(run_id="r", task_id="roomy", budget=Budget(tokens=10**7))
    short = gateway.grant(run_id="r", task_id="short", budget=Budget(tokens=500))
    assert ask(gateway, roomy.token, "roomy") == ask(gateway, short.token, "short") == "ok"
    first, second = upstream.requests
    assert "max_tokens" not in first  # a huge cap could exceed a small server's context
    assert 0 < second["max_tokens"] < 500


def test_each_grant_has_its_own_socket_closed_on_revoke(gateway):
    grant, other = gateway.grant(run_id="r"), gateway.grant(run_id="r")
    socket_path = grant.socket_dir / "gateway.sock"
    assert (grant.socket_dir / "forwarder.py").is_file()
    assert grant.apply(grant_config()).binds[str(grant.socket_dir)] == "/run/agentforge:ro"
    assert post_unix(socket_path, other.token)[0] == 401  # another grant's key: refused
    assert post_unix(socket_path, grant.token)[0] == 200
    grant.revoke()
    assert not grant.socket_dir.exists()
    with pytest.raises(OSError):
        post_unix(socket_path, grant.token)


def test_key_and_size_are_checked_before_the_body_is_read(gateway):
    grant = gateway.grant(run_id="r")
    status, body = post_unix(gateway.socket_path, "af-wrong", declared=1 << 30)
    assert status == 401 and "OPENAI_API_KEY" in body
    status, body = post_unix(gateway.socket_path, grant.token, declared=1 << 30)
    assert status == 413 and "shorter conversation" in body


def test_the_open_file_limit_is_raised_at_start(gateway):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= min(hard, 65536) if hard != resource.RLIM_INFINITY else soft >= 65536


def grant_config():
    from agentforge.sandbox import SandboxConfig

    return SandboxConfig()


def post_unix(path, token: str, declared: int | None = None) -> tuple[int, str]:
    """POST a small chat request on a unix socket; `declared` lies about its length."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(str(path))
    connection = http.client.HTTPConnection("gateway")
    connection.sock = sock
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if declared is not None:
        connection.putrequest("POST", "/v1/chat/completions")
        for key, value in {**headers, "Content-Length": str(declared)}.items():
            connection.putheader(key, value)
        # Refused before the body is read: sending it may meet a closed socket, while the
        # answer already waits to be read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.endheaders(body.encode())
    else:
        connection.request("POST", "/v1/chat/completions", body, headers)
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_a_run_budget_too_small_for_a_prompt_ends_the_run(gateway, upstream):
    grant = gateway.grant(run_id="r", task_id="t", run_budget=Budget(tokens=20))
    assert gateway.run_budget_exhausted("r") is None
    assert ask(gateway, grant.token, "a prompt longer than twenty tokens, " * 3) == 402
    # What the run's loop checks: it stops as on a spent budget, though nothing was spent.
    assert gateway.run_budget_exhausted("r").startswith("tokens: 0 of 20 used")
    assert upstream.requests == []


def test_connections_beyond_the_total_get_a_503_at_once(upstream, tmp_path):
    endpoint = Endpoint(base_url=upstream.base_url, model="m", api_key="k")
    limits = ServerLimits(max_connections=4, request_timeout=30)
    with Gateway(endpoint, Ledger(tmp_path / "l.db"), tcp_port=0, limits=limits) as gw:
        port = int(gw.tcp_base_url.split(":")[2].split("/")[0])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(4)]
        extra = socket.create_connection(("127.0.0.1", port), timeout=30)
        answer = extra.recv(4096)
        assert b" 503 " in answer and b"connections open" in answer
        for sock in idle:
            sock.close()
        extra.close()


def chat_with(rest: str) -> bytes:
    """A chat request's bytes: one short message, then `rest`."""
    return ('{"messages": [{"role": "user", "content": "hi"}]' + rest).encode()


UNREADABLE = {
    "nested-30k": b"[" * 30_000 + b"]" * 30_000,
    "nested-in-tools": chat_with(', "tools": ' + "[" * 980 + "1" + "]" * 980 + "}"),
    "nan": chat_with(', "temperature": NaN}'),
    "cut-off": chat_with(', "temperature": 0.'),
    "not-utf8": b'{"messages": [{"role": "user", "content": "\xff"}]}',
    "array": b'[{"role": "user", "content": "hi"}]',
    "messages-text": b'{"messages": "hi"}',
    "stream-options-list": chat_with(', "stream": true, "stream_options": [1]}'),
    "stream-text": chat_with(', "stream": "yes"}'),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_a_body_the_gateway_cannot_read_gets_a_400(gateway, upstream, name):
    grant = gateway.grant(run_id="r", task_id="t")
    status, answer = post_tcp(gateway, grant.token, UNREADABLE[name])
    assert status == 400 and "agentforge gateway" in answer, (status, answer[:300])
    assert upstream.requests == []


def test_a_lone_surrogate_is_relayed_not_dropped(gateway, upstream):
    grant = gateway.grant(run_id="r", task_id="t")
    body = b'{"messages": [{"role": "user", "content": "half a pair: \\ud800"}]}'
    assert post_tcp(gateway, grant.token, body)[0] == 200
    assert upstream.requests[0]["messages"][0]["content"] == "half a pair: \ud800"


def post_tcp(gateway, token: str, body: bytes) -> tuple[int, str]:
    """POST raw bytes as a chat request on the gateway's TCP listener."""
    port = int(gateway.tcp_base_url.split(":")[2].split("/")[0])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/v1/chat/completions", body,
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read().decode()

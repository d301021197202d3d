"""The gateway under a hostile sandbox: real sandboxes call it against a real upstream process
(the fault server) and try to overspend, to hang up unbooked, to exhaust it and to smuggle
fields upstream."""

from __future__ import annotations

import json
import threading
import time

import pytest
from upstream_fault_server import FaultServer

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.gateway.server import ServerLimits
from agentforge.llm.ledger import Ledger
from agentforge.llm.params import OPENAI_CHAT_FIELDS
from agentforge.llm.spec import Endpoint
from agentforge.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.slow

RETRY = RetryPolicy(attempts=2, initial_backoff=0.05, max_backoff=1, timeout=30)
LIMITS = ServerLimits(per_grant=64, request_timeout=3, idle_timeout=10)
SOCKET = "/run/agentforge/gateway.sock"

# Helpers every script below starts with: the agent runtime's openai client and raw HTTP on
# the gateway's unix socket (what a hostile agent can reach without the forwarder).
PRELUDE = r"""
import json, os, socket, sys, threading, time
import openai
client = openai.OpenAI(max_retries=0, timeout=60)
def ask(text, **extra):
    try:
        reply = client.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": text}], extra_body=extra)
        return ["ok", reply.usage.total_tokens]
    except openai.APIStatusError as exc:
        return [exc.status_code, str(exc)[:300]]
def raw(head, body=b""):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect("%(socket)s")
    sock.sendall(head + body)
    return sock
"""


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    with FaultServer(tmp_path_factory.mktemp("upstream")) as server:
        yield server


@pytest.fixture()
def ledger(tmp_path):
    return Ledger(tmp_path / "ledger.db")


@pytest.fixture()
def gateway(upstream, ledger):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="sk-real")
    with Gateway(endpoint, ledger, retry=RETRY, limits=LIMITS) as gw:
        yield gw


def run_in_sandbox(image: str, grant, script: str, timeout: float = 240) -> str:
    """Run PRELUDE + script as the sandbox user; return its last stdout line."""
    with Sandbox(grant.apply(SandboxConfig(image=image))) as box:
        grant.start_forwarder(box)
        box.write_files("/task", {"hostile.py": PRELUDE % {"socket": SOCKET} + script})
        result = box.exec(["python", "/task/hostile.py"], timeout=timeout)
    assert result.ok, result.output
    return result.stdout.strip().splitlines()[-1]


def test_concurrent_and_greedy_calls_cannot_overspend_a_budget(
        agent_image, gateway, upstream, ledger):
    # The upstream writes as long as it is allowed to: every answer uses its whole cap.
    concurrent = gateway.grant(run_id="r", task_id="concurrent", budget=Budget(tokens=100))
    answers = json.loads(run_in_sandbox(agent_image, concurrent, r"""
results = []
threads = [threading.Thread(target=lambda i=i: results.append(ask(f"concurrent {i}",
                                                                   max_tokens=50)))
           for i in range(10)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(results))
"""))
    greedy = gateway.grant(run_id="r", task_id="greedy", budget=Budget(tokens=100))
    [answer] = json.loads(run_in_sandbox(agent_image, greedy, r"""
print(json.dumps([ask("greedy", max_tokens=10**6, n=3, service_tier="priority", store=True,
                      metadata={"a": "b"}, agentforge_secret="x", top_k=5)]))
"""))
    gateway.flush()
    assert ledger.spend(run_id="r", task_id="concurrent").tokens <= 100
    assert any(status == "ok" for status, _ in answers), answers
    refused = [status for status, _ in answers if status != "ok"]
    assert refused and set(refused) <= {402, 429}, answers
    # The greedy call was capped to what is left: 3 choices of fewer than 100 tokens in all.
    assert answer[0] == "ok" and answer[1] <= 100, answer
    assert ledger.spend(run_id="r", task_id="greedy").tokens <= 100
    [sent] = [r["body"] for r in upstream.requests("greedy")]
    assert sent["n"] == 3 and 3 * sent["max_tokens"] < 100
    assert set(sent) <= OPENAI_CHAT_FIELDS, sorted(set(sent) - OPENAI_CHAT_FIELDS)
    assert sent["model"] == "gpt-4o-mini"


def test_a_stream_the_caller_hangs_up_on_is_still_booked_in_full(
        agent_image, gateway, upstream, ledger):
    grant = gateway.grant(run_id="r", task_id="hangup")
    # Read up to the last content chunk, then hang up before the usage chunk (sent 1 s later).
    run_in_sandbox(agent_image, grant, r"""
token = os.environ["OPENAI_API_KEY"]
for i in range(5):
    body = json.dumps({"model": "m", "stream": True, "max_tokens": 6000, "messages": [
        {"role": "user", "content": f"fault=hold-usage delay=1 hang up {i}"}]}).encode()
    sock = raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer "
               + token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n", body)
    seen = b""
    while b'"finish_reason": "stop"' not in seen:
        seen += sock.recv(65536)
    sock.close()
print("hung up 5 times")
""")
    deadline = time.monotonic() + 60
    while len(ledger.calls(run_id="r", task_id="hangup")) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
        gateway.flush()
    calls = ledger.calls(run_id="r", task_id="hangup")
    assert [c.completion_tokens for c in calls] == [6000] * 5
    assert all(c.http_status == 499 and c.prompt_tokens > 0 for c in calls)
    assert ledger.spend(run_id="r", task_id="hangup").tokens > 30000


def test_unknown_callers_huge_bodies_and_slow_senders_are_cut_off(agent_image, gateway):
    import resource

    grant = gateway.grant(run_id="r", task_id="bodies")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = json.loads(run_in_sandbox(agent_image, grant, r"""
def huge(auth):
    sock = raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
               + b"Content-Length: 1073741824\r\n\r\n")
    sent, block = 0, b"\0" * (1 << 20)
    try:
        while sent < (1 << 30):
            sock.sendall(block)
            sent += len(block)
    except OSError:
        pass
    answer = sock.recv(4096).split(b" ")[1].decode() if sent < (1 << 30) else "read all"
    return [answer, sent]
token = os.environ["OPENAI_API_KEY"].encode()
report = {"no_token": huge(b""), "too_big": huge(b"Authorization: Bearer " + token + b"\r\n")}
sock = raw(b"POST /v1/chat/completions HTTP/1.1\r\n")
started = time.monotonic()
try:
    while sock.send(b"X"):  # one header byte a second
        time.sleep(1)
except OSError:
    pass
report["slow_cut_after"] = time.monotonic() - started
report["after"] = ask("still served")
print(json.dumps(report))
"""))
    assert report["no_token"][0] == "401" and report["too_big"][0] == "413", report
    assert report["no_token"][1] < 512 << 20 and report["too_big"][1] < 512 << 20
    assert report["slow_cut_after"] < 30  # request_timeout 3 s, on a loaded machine
    assert report["after"][0] == "ok"
    # ru_maxrss is in KiB: the gigabyte never entered the gateway.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 300 * 1024


def test_a_connection_flood_from_one_sandbox_does_not_stall_another(agent_image, gateway):
    flooder = gateway.grant(run_id="r", task_id="flood")
    victim = gateway.grant(run_id="r", task_id="victim")
    flood_report: list[str] = []
    flood = threading.Thread(target=lambda: flood_report.append(run_in_sandbox(
        agent_image, flooder, r"""
def answered(sock):  # "refused": a 503 or a hang-up; "held": nothing yet
    sock.settimeout(0.05)
    try:
        data = sock.recv(4096)
        return "refused" if data == b"" or b" 503 " in data else "held"
    except TimeoutError:
        return "held"
    except OSError:
        return "refused"
socks, refused = [], 0
for i in range(1100):
    try:
        socks.append(raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n"))
    except OSError:  # answered and closed before our first bytes went out
        refused += 1
time.sleep(1)
held = [sock for sock in socks if answered(sock) == "held"]
refused += len(socks) - len(held)
time.sleep(8)  # hold them: the gateway's request deadline (3 s) must close the rest
closed = sum(answered(sock) == "refused" for sock in held)
print(json.dumps({"refused": refused, "held": len(held), "closed": closed}))
""")), daemon=True)
    flood.start()
    deadline = time.monotonic() + 120
    while gateway.connections.held(flooder.token) < LIMITS.per_grant:
        assert time.monotonic() < deadline, "the flood never reached the per-sandbox limit"
        time.sleep(0.05)
    started = time.monotonic()
    answer = json.loads(run_in_sandbox(agent_image, victim, r"""
print(json.dumps(ask("served while another sandbox floods")))
"""))
    took = time.monotonic() - started
    flood.join(timeout=240)
    report = json.loads(flood_report[0])
    assert answer[0] == "ok", answer
    assert took < 60, took  # a sandbox start plus one call, on a loaded machine
    assert 0 < report["held"] <= LIMITS.per_grant, report
    assert report["refused"] + report["held"] == 1100, report
    assert report["closed"] == report["held"], report  # cut off by the request deadline
    assert gateway.connections.held() <= 2  # the flood is gone

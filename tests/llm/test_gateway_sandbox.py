"""A process in a real sandbox reaches the model only through the gateway, with no real key."""

from __future__ import annotations

import json
import os

import pytest

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint
from agentforge.sandbox import Sandbox, SandboxConfig

REAL_KEY = "sk-real-upstream-key-never-in-a-sandbox"

SCRIPT = {"rules": [
    {"last_message_contains": "What is 6 x 7?", "respond": {
        "content": "42, said the scripted model.",
        "usage": {"prompt_tokens": 30, "completion_tokens": 20}}},
    {"last_message_contains": "stream please", "respond": {"content": "streamed through"}},
]}

# Runs inside the sandbox with the agent runtime's own openai client.
AGENT = r"""
import json, os, socket, sys
import openai

report = {"env_has_real_key": any(os.environ.get(k, "").startswith("sk-real") for k in os.environ),
          "key_prefix": os.environ["OPENAI_API_KEY"][:3], "base_url": os.environ["OPENAI_BASE_URL"],
          "model": os.environ["AGENTFORGE_MODEL"]}
client = openai.OpenAI(max_retries=0, timeout=60)  # OPENAI_BASE_URL / OPENAI_API_KEY from env
reply = client.chat.completions.create(
    model=os.environ["AGENTFORGE_MODEL"], messages=[{"role": "user", "content": "What is 6 x 7?"}])
report["answer"] = reply.choices[0].message.content
stream = client.chat.completions.create(
    model="m", messages=[{"role": "user", "content": "stream please"}], stream=True)
report["streamed"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
try:  # the upstream itself, directly: there is no network to reach it
    socket.create_connection(("%(upstream_host)s", %(upstream_port)d), 3)
    report["direct"] = "reached"
except OSError as exc:
    report["direct"] = f"blocked: {exc}"
budget_errors = []
for i in range(3):
    try:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"What is 6 x 7? ({i})"}])
    except openai.APIStatusError as exc:
        budget_errors.append([exc.status_code, str(exc)])
report["budget_errors"] = budget_errors
print(json.dumps(report))
"""


@pytest.fixture()
def upstream():
    # Listens on all interfaces so that "not reachable" is due to the sandbox, not the bind.
    with ScriptedServer(SCRIPT, host="0.0.0.0") as server:
        yield server


def _host_address() -> str:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: it only picks a route
            return probe.getsockname()[0]
        except OSError:
            return "172.17.0.1"


@pytest.mark.slow
def test_sandbox_calls_the_model_only_through_the_gateway(agent_image, upstream, tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    endpoint = Endpoint(base_url=f"http://127.0.0.1:{upstream.port}/v1", model="gpt-4o-mini",
                        api_key=REAL_KEY)
    retry = RetryPolicy(attempts=2, initial_backoff=0.05, timeout=30)
    with Gateway(endpoint, ledger, retry=retry) as gateway:
        grant = gateway.grant(run_id="run-1", node_id=7, task_id="task-a", role="agent",
                              budget=Budget(tokens=120))
        config = grant.apply(SandboxConfig(image=agent_image))
        assert REAL_KEY not in json.dumps(config.model_dump())
        with Sandbox(config) as box:
            grant.start_forwarder(box)
            code = AGENT % {"upstream_host": _host_address(), "upstream_port": upstream.port}
            box.write_files("/task", {"agent.py": code})
            result = box.exec(["python", "/task/agent.py"], timeout=180)
            env_dump = box.exec(["cat", "/proc/self/environ"], timeout=60).output
        gateway.flush()
    assert result.ok, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["answer"] == "42, said the scripted model."
    assert report["streamed"] == "streamed through"
    assert report["base_url"].startswith("http://127.0.0.1:") and report["key_prefix"] == "af-"
    assert report["model"] == "gpt-4o-mini"
    assert not report["env_has_real_key"] and REAL_KEY not in env_dump
    assert report["direct"].startswith("blocked"), report["direct"]
    # 50 tokens for the first answer plus the streamed one, then the budget of 120 bites.
    statuses = [status for status, _ in report["budget_errors"]]
    assert statuses and set(statuses) == {402}, report["budget_errors"]
    assert "budget of task task-a" in report["budget_errors"][-1][1]
    calls = ledger.calls(run_id="run-1")
    answered = [c for c in calls if c.status == "ok"]
    assert answered[0].prompt_tokens == 30 and answered[0].completion_tokens == 20
    assert answered[0].cost_usd == pytest.approx((30 * 0.15 + 20 * 0.60) / 1e6)
    assert all((c.node_id, c.task_id, c.role) == (7, "task-a", "agent") for c in calls)
    assert [c.status for c in calls].count("budget_exceeded") == len(statuses)
    spent = ledger.spend(run_id="run-1", task_id="task-a")
    assert 100 <= spent.tokens <= 120 and spent.calls == len(answered)
    assert len(upstream.requests) == len(answered)  # no call reached the upstream after that


@pytest.mark.slow
def test_forwarder_works_for_uid_1000_when_the_host_is_root(agent_image, upstream, tmp_path):
    endpoint = Endpoint(base_url=upstream.base_url, model="m", api_key=REAL_KEY)
    with Gateway(endpoint, Ledger(tmp_path / "l.db")) as gateway:
        grant = gateway.grant(run_id="r")
        with Sandbox(grant.apply(SandboxConfig(image=agent_image))) as box:
            grant.start_forwarder(box)
            who = box.exec(["id", "-u"], timeout=60).output.strip()
            owner = gateway.socket_path.parent.stat().st_uid
            probe = box.exec(["python", "-c",
                              "import urllib.request,os;print(urllib.request.urlopen("
                              "os.environ['OPENAI_BASE_URL']+'/models',timeout=30).read().decode())"],
                             timeout=120)
    assert who == "1000"
    assert probe.ok, probe.output
    assert json.loads(probe.stdout)["data"][0]["id"] == "m"
    if os.geteuid() == 0:
        assert owner == 0  # created by root, still usable by the sandbox's uid 1000

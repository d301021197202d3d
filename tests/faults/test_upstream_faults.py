"""Upstream faults, injected by a real server process on loopback, through the gateway and the
host-side ModelClient: each is retried with backoff or fails with an error that names the
endpoint and what happened; the ledger holds exactly one row per call."""

from __future__ import annotations

import time
import uuid

import openai
import pytest
from upstream_fault_server import FaultServer

from agentforge.llm.client import ModelClient
from agentforge.llm.config import RetryPolicy
from agentforge.llm.errors import ModelUnavailable
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import CallContext, Ledger
from agentforge.llm.spec import Endpoint

pytestmark = pytest.mark.slow  # ~1 min: timeouts and backoffs are real

POLICY = RetryPolicy(attempts=3, initial_backoff=0.05, max_backoff=2.0, timeout=1.5)

# fault -> words the final error must contain (what happened)
FAULTS = {
    "429": "HTTP 429", "429-retry-after": "HTTP 429", "500": "HTTP 500", "502": "HTTP 502",
    "503": "HTTP 503", "reset": "hung up", "truncated": "invalid JSON",
    "slow": "did not answer in time", "not-json": "invalid JSON",
}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    with FaultServer(tmp_path_factory.mktemp("faults")) as server:
        yield server


@pytest.fixture()
def ledger(tmp_path):
    return Ledger(tmp_path / "ledger.db")


@pytest.fixture()
def gateway(upstream, ledger):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="sk-real")
    with Gateway(endpoint, ledger, retry=POLICY, tcp_port=0) as gw:
        yield gw


def ask(gateway: Gateway, grant, text: str, stream: bool = False) -> str:
    client = openai.OpenAI(base_url=gateway.tcp_base_url, api_key=grant.token, max_retries=0,
                           timeout=60)
    reply = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": text}], stream=stream)
    if stream:
        return "".join(c.choices[0].delta.content or "" for c in reply if c.choices)
    return reply.choices[0].message.content


def nonce() -> str:
    return uuid.uuid4().hex[:8]


PLAIN_ONLY = ("truncated", "reset", "not-json")  # answers to plain requests only


@pytest.mark.parametrize(("fault", "stream"), [(f, False) for f in sorted(FAULTS)]
                         + [(f, True) for f in sorted(FAULTS) if f not in PLAIN_ONLY])
def test_a_passing_fault_is_retried_and_booked_once(gateway, upstream, ledger, fault, stream):
    text = f"fault={fault} times=1 delay=3 id={nonce()}"
    grant = gateway.grant(run_id="r", task_id="t")
    assert ask(gateway, grant, text, stream).startswith("ok: fault=")
    gateway.flush()
    assert len(upstream.requests(text)) == 2  # the failed try and the retry
    [call] = ledger.calls(run_id="r")
    assert call.status == "ok" and call.completion_tokens == 20


def test_a_streamed_answer_is_booked_before_the_caller_sees_its_end(gateway, upstream, ledger):
    """A client stops reading at [DONE]: by then the call must be booked, so that its next
    request meets the spent budget (and flush() finds the row), however late the upstream
    closes the stream after it."""
    text = f"fault=hold-end delay=1 id={nonce()}"  # within the 1.5 s read timeout
    assert ask(gateway, gateway.grant(run_id="r", task_id="t"), text, stream=True).startswith(
        "ok: fault=hold-end")
    gateway.flush()
    [call] = ledger.calls(run_id="r")
    assert call.status == "ok" and call.streamed and call.completion_tokens == 20


def test_retry_after_is_honoured(gateway, upstream):
    text = f"fault=429-retry-after retry_after=1 times=1 id={nonce()}"
    assert ask(gateway, gateway.grant(run_id="r"), text).startswith("ok")
    first, second = upstream.requests(text)
    assert second["time"] - first["time"] >= 0.9  # not our own 0.05 s backoff


def test_a_huge_retry_after_is_bounded(gateway, upstream):
    text = f"fault=429-retry-after retry_after=3600 times=1 id={nonce()}"
    started = time.monotonic()
    assert ask(gateway, gateway.grant(run_id="r"), text).startswith("ok")
    assert time.monotonic() - started < 60  # max_backoff (2 s), not an hour


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_lasting_fault_fails_naming_the_endpoint_and_the_run_goes_on(
        gateway, upstream, ledger, fault):
    text = f"fault={fault} retry_after=0 delay=3 id={nonce()}"
    grant = gateway.grant(run_id="r", task_id="t")
    with pytest.raises(openai.APIStatusError) as caught:
        ask(gateway, grant, text)
    message = str(caught.value)
    assert upstream.base_url in message and FAULTS[fault] in message, message
    assert "after 3 attempt(s)" in message
    assert len(upstream.requests(text)) == POLICY.attempts
    # The same grant is served as soon as the upstream answers again.
    assert ask(gateway, grant, f"fine {nonce()}").startswith("ok")
    gateway.flush()
    assert [c.status for c in ledger.calls(run_id="r")] == ["error", "ok"]


def test_a_stream_cut_off_after_bytes_went_out_ends_with_an_error_event(
        gateway, upstream, ledger):
    text = f"fault=stream-cut id={nonce()}"
    with pytest.raises(openai.APIError) as caught:
        ask(gateway, gateway.grant(run_id="r"), text, stream=True)
    assert upstream.base_url in str(caught.value) and "cut the stream" in str(caught.value)
    assert len(upstream.requests(text)) == 1  # part of the answer was relayed: no retry
    gateway.flush()
    [call] = ledger.calls(run_id="r")
    assert call.status == "error" and call.completion_tokens > 0  # estimated from bytes


@pytest.mark.parametrize("fault", ["429", "503", "reset", "slow", "truncated", "not-json"])
def test_the_host_side_client_retries_and_books_once(upstream, ledger, fault):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="k")
    client = ModelClient(endpoint, retry=POLICY, ledger=ledger,
                         context=CallContext(run_id="r", role="diagnose"))
    passing = f"fault={fault} times=1 delay=3 id={nonce()}"
    reply = client.chat([{"role": "user", "content": passing}])
    assert reply.choices[0].message.content.startswith("ok")
    lasting = f"fault={fault} retry_after=0 delay=3 id={nonce()}"
    with pytest.raises(ModelUnavailable, match="failed after 3 attempt") as caught:
        client.chat([{"role": "user", "content": lasting}])
    assert upstream.base_url in str(caught.value)
    assert len(upstream.requests(passing)) == 2 and len(upstream.requests(lasting)) == 3
    assert [c.status for c in ledger.calls(run_id="r")] == ["ok", "error"]

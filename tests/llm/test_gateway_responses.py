"""The gateway serves OpenAI's Responses API, as HGM's and DGM's published agents call it:
the official client's `responses.create` -> gateway -> the scripted model's chat completions."""

from __future__ import annotations

import openai
import pytest

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

SCRIPT = {"rules": [
    {"last_message_contains": "list the files", "respond": {
        "tool_calls": [{"name": "bash", "arguments": {"command": "ls"}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 7}}},
    {"last_message_contains": "README.md", "respond": {"content": "There is one file."}},
    {"last_message_contains": "long", "respond": {"content": "cut", "finish_reason": "length"}},
]}
BASH = {"type": "function", "name": "bash", "description": "Run a command.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                       "required": ["command"], "additionalProperties": False},
        "strict": True}


@pytest.fixture()
def served(tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    with ScriptedServer(SCRIPT) as upstream:
        endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="sk-real")
        retry = RetryPolicy(attempts=1, initial_backoff=0.01, max_backoff=0.05, timeout=5)
        with Gateway(endpoint, ledger, retry=retry, tcp_port=0) as gateway:
            grant = gateway.grant(run_id="r1", node_id=1, task_id="t1", role="agent")
            client = openai.OpenAI(base_url=gateway.tcp_base_url, api_key=grant.token,
                                   max_retries=0, timeout=30)
            yield client, upstream, gateway, ledger


def test_a_tool_loop_over_the_responses_api(served):
    client, upstream, gateway, ledger = served
    question = [{"role": "user", "content": [{"type": "input_text", "text": "list the files"}]}]
    first = client.responses.create(model="gpt@scripted", instructions="You code.",
                                    input=question, tools=[BASH], tool_choice="auto",
                                    parallel_tool_calls=False)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert (call.name, call.arguments) == ("bash", '{"command": "ls"}')
    assert (first.usage.input_tokens, first.usage.output_tokens) == (30, 7)
    sent = upstream.requests[-1]
    assert sent["model"] == "gpt-4o-mini"  # the run's model, whatever the agent names
    assert sent["messages"] == [{"role": "system", "content": "You code."},
                                {"role": "user", "content": "list the files"}]
    assert sent["tools"][0]["function"]["name"] == "bash" and sent["parallel_tool_calls"] is False

    # The agent sends the call back as the SDK gave it, with its output (as HGM's loop does).
    answer = client.responses.create(
        model="gpt@scripted", tools=[BASH],
        input=[*question, call.model_dump(exclude_none=True),
               {"type": "function_call_output", "call_id": call.call_id, "output": "README.md"}])
    assert answer.output_text == "There is one file." and answer.status == "completed"
    assert upstream.requests[-1]["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.call_id, "type": "function",
             "function": {"name": "bash", "arguments": '{"command": "ls"}'}}]},
        {"role": "tool", "tool_call_id": call.call_id, "content": "README.md"}]
    gateway.flush()
    assert [c.status for c in ledger.calls(run_id="r1")] == ["ok", "ok"]


def test_a_cut_answer_is_incomplete(served):
    client, *_ = served
    reply = client.responses.create(model="o3-mini", input="a long one", max_output_tokens=5)
    assert reply.status == "incomplete" and reply.incomplete_details.reason == "max_output_tokens"


@pytest.mark.parametrize(("request_fields", "says"), [
    ({"input": "hi", "stream": True}, "stream is not served"),
    ({"input": "hi", "previous_response_id": "resp_1"}, "send the whole conversation"),
    ({"input": "hi", "tools": [{"type": "web_search"}]}, "only function tools"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
     "input_image"),
])
def test_what_has_no_chat_equivalent_is_refused_before_it_is_sent(served, request_fields, says):
    client, upstream, *_ = served
    with pytest.raises(openai.BadRequestError, match=says):
        client.post("/responses", cast_to=dict, body={"model": "gpt-4o", **request_fields})
    assert upstream.requests == []

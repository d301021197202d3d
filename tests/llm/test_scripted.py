"""The scripted model server, exercised over real HTTP with the official openai client."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from agentforge.llm import scripted
from agentforge.llm.scripted import ScriptedServer, ScriptError

BASH_TOOL = [{"type": "function", "function": {
    "name": "bash", "description": "run a command",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}]

SCRIPT = {
    "models": ["scripted", "other"],
    "rules": [
        {"name": "greet", "match": {"last_message_contains": "hello"},
         "respond": {"content": "Hello from the script, a reply long enough to be streamed."}},
        {"name": "run", "last_message_contains": "list files", "tools_offered": "bash",
         "respond": {"tool_calls": [{"name": "bash", "arguments": {"command": "ls -la"}}]}},
        {"name": "broken-args", "last_message_contains": "malformed",
         "respond": {"tool_calls": [{"name": "bash", "arguments": "{not json"}]}},
        {"name": "after-tool", "last_message_contains": "README.md",
         "respond": {"content": "I saw the listing.", "usage": {"prompt_tokens": 111,
                                                                 "completion_tokens": 7}}},
        {"name": "system", "system_contains": "pirate", "last_message_contains": "speak",
         "respond": {"content": "Arr."}},
        {"name": "quiet", "last_message_contains": "speak", "not_contains": "pirate",
         "respond": {"content": "Plain words."}},
        {"name": "model-b", "model": "other", "respond": {"content": "from the other model"}},
        {"name": "regex", "regex": r"task-\d+ .*urgent",
         "respond": {"content": "regex matched"}},
        {"name": "once", "last_message_contains": "once", "max_uses": 1,
         "respond": {"content": "first time"}},
        {"name": "again", "last_message_contains": "once", "respond": {"content": "later"}},
        {"name": "branch", "regex": r"branch-(\d+)", "last_message_contains": "branch-",
         "respond": {"content": "branch answer"}},
        {"name": "limited", "last_message_contains": "rate me",
         "respond": {"status": 429, "error": "slow down", "headers": {"retry-after": "0"}}},
        {"name": "garbage", "last_message_contains": "garbage",
         "respond": {"raw_body": "{this is not json"}},
        {"name": "cut", "last_message_contains": "cut me",
         "respond": {"content": "x" * 400, "cut_stream": True}},
    ],
}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def server():
    with ScriptedServer(SCRIPT) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key="not-a-real-key", max_retries=0,
                         timeout=30)


def test_content_matching_and_usage(client, server):
    reply = client.chat.completions.create(model="scripted", messages=user("hello there"))
    assert reply.choices[0].message.content.startswith("Hello from the script")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens >= 1 and reply.usage.completion_tokens >= 10
    assert server.requests[-1]["messages"][-1]["content"] == "hello there"


def test_system_not_contains_model_and_regex_conditions(client):
    pirate = [{"role": "system", "content": "You are a pirate."}, *user("speak")]
    assert client.chat.completions.create(
        model="scripted", messages=pirate).choices[0].message.content == "Arr."
    assert client.chat.completions.create(
        model="scripted", messages=user("speak")).choices[0].message.content == "Plain words."
    assert client.chat.completions.create(
        model="other", messages=user("anything")).choices[0].message.content == (
        "from the other model")
    text = client.chat.completions.create(
        model="scripted", messages=user("see task-42 it is\nurgent")).choices[0].message.content
    assert text == "regex matched"


def test_tool_call_then_tool_result(client):
    reply = client.chat.completions.create(model="scripted", messages=user("list files"),
                                           tools=BASH_TOOL)
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "bash"
    assert json.loads(call.function.arguments) == {"command": "ls -la"}
    # The tool result is the last message: rules match on tool results too.
    messages = [*user("list files"), reply.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "README.md setup.py"}]
    follow = client.chat.completions.create(model="scripted", messages=messages, tools=BASH_TOOL)
    assert follow.choices[0].message.content == "I saw the listing."
    assert (follow.usage.prompt_tokens, follow.usage.completion_tokens) == (111, 7)


def test_tool_not_offered_does_not_match(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="scripted", messages=user("list files"))
    assert "list files" in str(caught.value)


def test_malformed_arguments_pass_verbatim(client):
    reply = client.chat.completions.create(model="scripted", messages=user("malformed please"))
    assert reply.choices[0].message.tool_calls[0].function.arguments == "{not json"


def test_streaming_content_and_usage(client):
    stream = client.chat.completions.create(model="scripted", messages=user("hello"),
                                            stream=True)
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == "Hello from the script, a reply long enough to be streamed."
    assert len([p for p in pieces if p]) > 1  # really streamed in pieces
    assert finish == "stop" and usage.completion_tokens > 0


def test_streaming_tool_call_deltas(client):
    stream = client.chat.completions.create(model="scripted", messages=user("list files"),
                                            tools=BASH_TOOL, stream=True)
    name, arguments, finish = "", "", None
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                name += (delta.function.name or "") if delta.function else ""
                arguments += (delta.function.arguments or "") if delta.function else ""
            finish = choice.finish_reason or finish
    assert name == "bash" and json.loads(arguments) == {"command": "ls -la"}
    assert finish == "tool_calls"


def test_unmatched_request_gets_clear_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="scripted", messages=[
            {"role": "system", "content": "sys"},
            {"role": "assistant", "content": "nothing matches this " + "y" * 300}])
    message = str(caught.value)
    assert caught.value.status_code == 400
    assert "'scripted'" in message and "'assistant'" in message
    assert "nothing matches this" in message and "y" * 250 not in message


@pytest.mark.parametrize(("field", "value", "named"), [
    ("tools", ["not-an-object"], "'tools[0]'"),
    ("tools", [{"type": "function", "function": "read_file"}], "'tools[0].function'"),
    ("tools", {"read_file": {}}, "'tools'"),
    ("messages", [["user", "hi"]], "'messages[0]'"),
])
def test_malformed_request_shapes_get_a_400_not_a_crash(server, field, value, named):
    """A request the real API would refuse is refused with a 400 naming the field; before,
    a non-object tool raised inside the handler and the client saw a dropped connection."""
    body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], field: value}
    request = urllib.request.Request(f"{server.base_url}/chat/completions",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    error = json.loads(caught.value.read())["error"]
    assert named in error["message"] and error["code"] == "invalid_request"


def test_max_uses_then_next_rule(client):
    first = client.chat.completions.create(model="scripted", messages=user("once"))
    second = client.chat.completions.create(model="scripted", messages=user("once"))
    assert (first.choices[0].message.content, second.choices[0].message.content) == (
        "first time", "later")


def test_parallel_requests_match_by_content(server, client):
    before = len(server.requests)
    prompts = [f"hello {i}" if i % 2 else f"speak {i}" for i in range(16)]

    def ask(text: str) -> tuple[str, str]:
        reply = client.chat.completions.create(model="scripted", messages=user(text))
        return text, reply.choices[0].message.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, prompts))
    for text, answer in answers:
        assert answer.startswith("Hello from") if text.startswith("hello") else (
            answer == "Plain words.")
    assert len(server.requests) - before == 16


def test_failure_injection(client):
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="scripted", messages=user("rate me"))
    assert "slow down" in str(caught.value)
    with pytest.raises(ValueError, match="Expecting property name"):  # the client's own parse
        client.chat.completions.create(model="scripted", messages=user("garbage"))
    with pytest.raises(openai.APIConnectionError):
        for _chunk in client.chat.completions.create(model="scripted", messages=user("cut me"),
                                                     stream=True):
            pass
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="scripted", messages=user("cut me"))


def test_delay(tmp_path):
    script = {"rules": [{"respond": {"content": "late", "delay": 0.5}}]}
    with ScriptedServer(script) as srv:
        fast = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0, timeout=0.1)
        with pytest.raises(openai.APITimeoutError):
            fast.chat.completions.create(model="scripted", messages=user("hi"))
        slow = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0, timeout=30)
        assert slow.chat.completions.create(
            model="scripted", messages=user("hi")).choices[0].message.content == "late"


def test_hang_never_answers_and_the_server_still_stops_at_once():
    srv = ScriptedServer({"rules": [{"respond": {"hang": True}}]}).start()
    patient = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0, timeout=1.0)
    with pytest.raises(openai.APITimeoutError):
        patient.chat.completions.create(model="scripted", messages=user("hi"))
    # A second request is held while the server stops: stopping ends it, it does not wait.
    waiting = ThreadPoolExecutor(1).submit(
        openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0, timeout=60)
        .chat.completions.create, model="scripted", messages=user("still there?"))
    while len(srv.requests) < 2:
        time.sleep(0.01)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 5
    with pytest.raises(openai.APIConnectionError):
        waiting.result(timeout=10)
    assert len(srv.arrivals) == 2 and srv.arrivals[0] <= srv.arrivals[1] <= started


def test_models_and_health(server):
    with urllib.request.urlopen(server.url + "/health", timeout=10) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(server.base_url + "/models", timeout=10) as answer:
        ids = [m["id"] for m in json.load(answer)["data"]]
    assert ids == ["scripted", "other"]


def test_bad_scripts_are_rejected_with_the_rule_named(tmp_path):
    with pytest.raises(ScriptError, match="unknown key"):
        scripted.load_script({"rules": [{"name": "x", "last_message_contain": "typo"}]})
    with pytest.raises(ScriptError, match="respond"):
        scripted.load_script({"rules": [{"respond": {"contents": "typo"}}]})
    with pytest.raises(ScriptError, match="rules"):
        scripted.load_script({"rule": []})
    bad = tmp_path / "bad.toml"
    bad.write_text("rules = [")
    with pytest.raises(ScriptError, match="cannot parse"):
        scripted.load_script(bad)


def _wait_for_port(port_file: Path, process: subprocess.Popen, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    raise AssertionError("the server never wrote its port file")


@pytest.mark.parametrize("how", ["standalone", "cli"])
def test_runs_as_a_process_from_a_toml_script(tmp_path, how):
    script = tmp_path / "script.toml"
    script.write_text('[[rules]]\nlast_message_contains = "ping"\n'
                      'respond = { content = "pong" }\n')
    port_file = tmp_path / "port"
    if how == "standalone":  # the file alone, as it runs inside a sandbox: no agentforge import
        copy = tmp_path / "scripted.py"
        copy.write_text(Path(scripted.__file__).read_text())
        cmd = [sys.executable, "-I", str(copy), "--script", str(script), "--port", "0",
               "--port-file", str(port_file)]
    else:
        cmd = [sys.executable, "-m", "agentforge", "model", "serve-scripted", str(script),
               "--port", "0", "--port-file", str(port_file)]
    process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        port = _wait_for_port(port_file, process)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x",
                               max_retries=0, timeout=30)
        reply = client.chat.completions.create(model="scripted", messages=user("ping"))
        assert reply.choices[0].message.content == "pong"
    finally:
        process.terminate()
        process.wait(timeout=30)

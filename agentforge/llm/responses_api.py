"""OpenAI's Responses API (POST /v1/responses) answered as a chat completion.

Some published agents (HGM's for every model its OpenAI client takes, DGM's for o3-mini) call
`client.responses.create`. The gateway and the scripted model answer such a request by
turning it into the chat request that says the same (instructions and input items as
messages, function tools as chat tools), answering that as they answer any chat request
(the gateway: budget, cache, retries, ledger), and turning the chat completion back into a
response object. What has no chat equivalent is refused with a ValueError that says so:
streaming, `previous_response_id` (nothing keeps conversations), and tools other than
functions (web search, file search: they would reach past the sandbox).

Standard library only: copied into sandboxes beside scripted.py, which loads it from there.
"""

from __future__ import annotations

PATHS = ("/v1/responses", "/responses")
_PASSED_ON = ("temperature", "top_p", "parallel_tool_calls", "seed", "prompt_cache_key")
_TEXT_PARTS = ("input_text", "output_text", "text")


def chat_request(body: dict) -> dict:
    """The chat request that asks what a Responses request asks; ValueError says what is not
    served."""
    if body.get("stream"):
        raise ValueError("stream is not served on /v1/responses; call it without stream, or "
                         "use /v1/chat/completions")
    if body.get("previous_response_id"):
        raise ValueError("previous_response_id is not served (the gateway keeps no "
                         "conversations); send the whole conversation as input")
    messages = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": _text(body["instructions"])})
    items = body.get("input", [])
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise ValueError("input must be a string or a list of items")
    for item in items:
        _add_item(messages, item)
    chat = {"messages": messages}
    for name in _PASSED_ON:
        if name in body:
            chat[name] = body[name]
    if "max_output_tokens" in body:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    if isinstance(body.get("reasoning"), dict) and "effort" in body["reasoning"]:
        chat["reasoning_effort"] = body["reasoning"]["effort"]
    if body.get("tools"):
        chat["tools"] = [_chat_tool(tool) for tool in body["tools"]]
    if "tool_choice" in body:
        chat["tool_choice"] = _chat_tool_choice(body["tool_choice"])
    return chat


def response_body(chat: dict) -> dict:
    """The Responses API's answer made of a chat completion."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output = []
    if message.get("content"):
        output.append({"type": "message", "id": f"msg_{chat.get('id', '')}", "role": "assistant",
                       "status": "completed", "content": [
                           {"type": "output_text", "text": message["content"],
                            "annotations": []}]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append({"type": "function_call", "id": f"fc_{call.get('id', '')}",
                       "call_id": call.get("id", ""), "name": function.get("name", ""),
                       "arguments": function.get("arguments", "{}"), "status": "completed"})
    cut = choice.get("finish_reason") == "length"
    usage = chat.get("usage") or {}
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {
        "id": f"resp_{chat.get('id', '')}", "object": "response",
        "created_at": chat.get("created", 0), "model": chat.get("model", ""),
        "status": "incomplete" if cut else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "error": None, "instructions": None, "metadata": {}, "output": output,
        "parallel_tool_calls": False, "tool_choice": "auto", "tools": [],
        "temperature": None, "top_p": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion,
                  "total_tokens": prompt + completion,
                  "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": 0}},
    }


def _add_item(messages: list[dict], item) -> None:
    if not isinstance(item, dict):
        raise ValueError(f"an input item must be an object, not {type(item).__name__}")
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in ("system", "developer", "user", "assistant"):
            raise ValueError(f"an input message's role must be system, developer, user or "
                             f"assistant, not {role!r}")
        messages.append({"role": "system" if role == "developer" else role,
                         "content": _text(item.get("content", ""))})
    elif kind == "function_call":
        call = {"id": item.get("call_id", ""), "type": "function",
                "function": {"name": item.get("name", ""),
                             "arguments": item.get("arguments", "{}")}}
        last = messages[-1] if messages else None
        if last and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output", "")
        messages.append({"role": "tool", "tool_call_id": item.get("call_id", ""),
                         "content": output if isinstance(output, str) else _text(output)})
    elif kind == "reasoning":
        pass  # a reasoning model's own summary: chat completions take no such turn
    else:
        raise ValueError(f"input items of type {kind!r} are not served; send message, "
                         "function_call and function_call_output items")


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValueError("content must be a string or a list of text parts")
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise ValueError(f"content parts of type {kind!r} are not served; send text "
                             "(input_text, output_text)")
        texts.append(str(part.get("text", "")))
    return "\n".join(texts)


def _chat_tool(tool) -> dict:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
        raise ValueError(f"tools of type {kind!r} are not served; only function tools")
    function = {name: tool[name] for name in ("name", "description", "parameters", "strict")
                if name in tool}
    return {"type": "function", "function": function}


def _chat_tool_choice(choice):
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    return choice

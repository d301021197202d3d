"""Which request parameter caps a completion's length for a model, and which fields to send.

OpenAI's reasoning models (o1, o3, o4-mini, gpt-5, ...) reject `max_tokens` and take
`max_completion_tokens`; most other servers (vLLM, older models) take `max_tokens`. The choice
is made per model: a rule by name, overridden by what an endpoint's 400 error taught us.
"""

from __future__ import annotations

import re
import threading

MAX_TOKENS = "max_tokens"
MAX_COMPLETION_TOKENS = "max_completion_tokens"
TOKEN_PARAMS = (MAX_TOKENS, MAX_COMPLETION_TOKENS)

_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)

OPENAI_CHAT_FIELDS = frozenset({
    "messages", "model", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "max_tokens", "max_completion_tokens", "n", "presence_penalty", "response_format", "seed",
    "stop", "stream", "stream_options", "temperature", "top_p", "tools", "tool_choice",
    "parallel_tool_calls", "functions", "function_call", "reasoning_effort", "prediction",
    "verbosity", "prompt_cache_key",
})
"""Chat-completion request fields an agent may send through the gateway. Left out on
purpose: fields that spend more (`service_tier`, `audio`, `modalities`, `web_search_options`)
or act on the account (`store`, `metadata`, `user`, `safety_identifier`)."""

_learned: dict[str, str] = {}
_lock = threading.Lock()


def _bare(model: str) -> str:
    return model.rsplit("/", 1)[-1]  # "openai/o3-mini" -> "o3-mini"


def token_param(model: str) -> str:
    """The parameter this model takes for its completion cap."""
    with _lock:
        learned = _learned.get(model)
    if learned:
        return learned
    return MAX_COMPLETION_TOKENS if _REASONING_MODEL.match(_bare(model)) else MAX_TOKENS


def token_param_reason(model: str) -> str:
    """Why `token_param` chose what it did, for `model check`."""
    with _lock:
        if model in _learned:
            return "learned from the endpoint's error"
    if _REASONING_MODEL.match(_bare(model)):
        return "reasoning model (o-series / gpt-5) by name"
    return "default"


def learn_from_error(model: str, sent: str, message: str) -> str | None:
    """If an endpoint's error says `sent` is unsupported, remember the other one and return it."""
    text = message.lower().replace("\\", "")  # quotes may come escaped (a repr'd body)
    other = MAX_COMPLETION_TOKENS if sent == MAX_TOKENS else MAX_TOKENS
    names_sent = f"'{sent}'" in text or f'"{sent}"' in text or f"`{sent}`" in text
    rejects = any(word in text for word in ("unsupported", "not supported", "unrecognized",
                                            "unknown", "extra inputs"))
    if not (names_sent and rejects):
        return None
    with _lock:
        _learned[model] = other
    return other


def use_token_param(body: dict, param: str) -> dict:
    """`body` with its completion cap under `param` (moved from the other name if need be)."""
    other = MAX_COMPLETION_TOKENS if param == MAX_TOKENS else MAX_TOKENS
    if other not in body:
        return body
    body = dict(body)
    value = body.pop(other)
    body.setdefault(param, value)
    return body


def requested_cap(body: dict) -> int | None:
    """The completion cap a request asks for under either name (the smaller if both)."""
    values = [body[name] for name in TOKEN_PARAMS if isinstance(body.get(name), int)
              and not isinstance(body.get(name), bool)]
    return min(values) if values else None


CONTENT_PART_TYPES = ("text", "refusal", "image_url", "input_audio")
"""Message content parts the gateway forwards; their cost can be reserved (gateway/budget.py)."""


def request_problem(body: dict) -> str | None:
    """Why the gateway refuses a request before reserving or sending it (a 400), or None."""
    return (_count_problem(body) or _shape_problem(body)
            or next(filter(None, map(_part_problem, content_parts(body))), None))


def content_parts(body: dict) -> list:
    """Every content part of the request's messages (string contents have none)."""
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            parts.extend(content)
    return parts


def _count_problem(body: dict) -> str | None:
    # A string "5000000" or a float would slip past the budget's reservation, and lenient
    # servers (vLLM's pydantic models) coerce it into a real count upstream.
    for name in ("n", *TOKEN_PARAMS):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            return f"`{name}` must be a positive integer, got {value!r}"
    return None


def _shape_problem(body: dict) -> str | None:
    # The fields the gateway itself reads must have the shape it reads them in.
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return "`messages` must be a list of message objects"
    expected = {"stream": bool, "stream_options": dict, "prediction": dict}
    for name, kind in expected.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            return f"`{name}` must be a JSON {_JSON_NAMES[kind]}, got {body[name]!r:.80}"
    return None


_JSON_NAMES = {bool: "boolean", dict: "object"}


def _part_problem(part) -> str | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind not in CONTENT_PART_TYPES:
        return (f"message content part of type {kind!r:.40} is not accepted (only "
                f"{', '.join(CONTENT_PART_TYPES)}): its cost to the budget cannot be counted")
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if kind == "image_url" and not (isinstance(url, str) and url.startswith("data:")):
        return ("an image part must carry its image as a data: URL (base64), in "
                '{"image_url": {"url": "data:image/png;base64,..."}}; a link would have the '
                "model's server fetch it from outside the sandbox")
    return None

"""One structured reply from a model: ask, parse the reply into a pydantic model, and on an
unusable reply send it back with what is wrong, a few times; then `ReplyFailed` with the
model's last text (the step is archived as `failed` with it). Diagnosis and prompt mutation
both ask this way."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from agentforge.errors import AgentforgeError, describe_validation_error
from agentforge.llm.client import ModelClient

Reply = TypeVar("Reply")
Model = TypeVar("Model", bound=BaseModel)
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


class ReplyFailed(AgentforgeError):
    """No usable reply after every attempt; `text` is the model's last reply."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


def parse_json_reply(text: str, model: type[Model]) -> Model:
    """The `model` in a reply: a JSON object in a ```json block, or the outermost braces;
    ValueError says what is wrong, in words the model can act on."""
    candidates = [m.group(1) for m in _JSON_BLOCK.finditer(text or "")]
    start, end = (text or "").find("{"), (text or "").rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start:end + 1])
    if not candidates:
        raise ValueError("the reply holds no JSON object")
    last_error: Exception = ValueError("no JSON object")
    for candidate in candidates:
        try:
            return model.model_validate(json.loads(candidate))
        except (json.JSONDecodeError, ValidationError) as exc:
            last_error = exc
    if isinstance(last_error, ValidationError):
        raise ValueError(describe_validation_error(last_error, whole="object"))
    raise ValueError(f"invalid JSON ({last_error})")


def ask_structured(client: ModelClient, messages: list[dict], parse: Callable[[str], Reply],
                   retry: Callable[[str], str], *, attempts: int, wanted: str) -> Reply:
    """Ask until `parse` accepts a reply (ValueError: not usable), sending each unusable one
    back with `retry(error)` as the next user message; `wanted` names it in the error."""
    messages = list(messages)
    text, error = "", ""
    for _ in range(attempts):
        reply = client.chat(messages)
        text = reply.choices[0].message.content or "" if reply.choices else ""
        try:
            return parse(text)
        except ValueError as exc:
            error = str(exc)
        messages += [{"role": "assistant", "content": text},
                     {"role": "user", "content": retry(error)}]
    raise ReplyFailed(f"no {wanted} after {attempts} attempt(s): {error}", text)

"""`model check`: one chat request and one tool-call request against an endpoint."""

from __future__ import annotations

import json
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentforge.llm.client import ModelClient
from agentforge.llm.config import RetryPolicy
from agentforge.llm.errors import ModelError
from agentforge.llm.params import token_param_reason
from agentforge.llm.spec import Endpoint

PROMPTS = Path(__file__).with_name("check.toml")
PROBE_MAX_TOKENS = 1024  # room for a reasoning model's thinking before its one-word answer


@dataclass
class Probe:
    """How one request went."""

    ok: bool
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    detail: str = ""


@dataclass
class CheckReport:
    """The result of `model check`: both probes and a hint when tool calling fails."""

    base_url: str
    model: str
    chat: Probe
    tools: Probe
    hint: str = ""
    token_param: str = ""
    """The parameter the completion cap was sent as (max_tokens or max_completion_tokens)."""
    token_param_reason: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Both chat and tool calling work."""
        return self.chat.ok and self.tools.ok

    def to_json(self) -> dict:
        """Plain data for `--json`."""
        return {**asdict(self), "ok": self.ok}


def check_endpoint(endpoint: Endpoint, retry: RetryPolicy | None = None,
                   is_vllm: bool | None = None) -> CheckReport:
    """Send the chat and the tool probe; never raises for a model-side failure."""
    prompts = tomllib.loads(PROMPTS.read_text())
    retry = retry or RetryPolicy(attempts=2, initial_backoff=0.5, timeout=120)
    # A cap on every probe, so the report says which parameter this model takes for it.
    client = ModelClient(endpoint, retry=retry, defaults={"max_tokens": PROBE_MAX_TOKENS})
    chat = _probe(client, [{"role": "system", "content": prompts["chat"]["system"]},
                           {"role": "user", "content": prompts["chat"]["user"]}], None)
    if chat.ok:
        chat.detail = f"answered {chat.detail[:60]!r}"
    spec = prompts["tools"]
    tool = {"type": "function", "function": {
        "name": spec["tool_name"], "description": spec["tool_description"],
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}
    tools = _probe(client, [{"role": "user", "content": spec["user"]}], [tool],
                   expect_tool=spec["tool_name"])
    if is_vllm is None:
        is_vllm = endpoint.provider == "vllm"
    hint = "" if tools.ok else prompts["hints"]["vllm" if is_vllm else "other"]
    return CheckReport(endpoint.base_url, endpoint.model, chat, tools, hint,
                       token_param=client.token_param_sent or "",
                       token_param_reason=token_param_reason(endpoint.model))


def _probe(client: ModelClient, messages: list[dict], tools: list[dict] | None,
           expect_tool: str | None = None) -> Probe:
    started = time.monotonic()
    try:
        extra = {"tool_choice": "auto"} if tools else {}
        reply = client.chat(messages, tools=tools, **extra)
    except ModelError as exc:
        return Probe(False, time.monotonic() - started, detail=str(exc))
    latency = time.monotonic() - started
    usage = reply.usage
    probe = Probe(True, latency, usage.prompt_tokens if usage else 0,
                  usage.completion_tokens if usage else 0)
    message = reply.choices[0].message if reply.choices else None
    if message is None:
        probe.ok, probe.detail = False, "the answer has no choices"
    elif expect_tool is None:
        probe.ok = bool(message.content)
        probe.detail = message.content or "empty answer"
    else:
        calls = [c for c in message.tool_calls or [] if c.function.name == expect_tool]
        if not calls:
            probe.ok = False
            probe.detail = f"no {expect_tool} tool call; the model said {message.content!r:.120}"
        else:
            try:
                json.loads(calls[0].function.arguments)
                probe.detail = f"called {expect_tool}({calls[0].function.arguments})"
            except ValueError:
                probe.ok = False
                probe.detail = f"tool call arguments are not JSON: {calls[0].function.arguments!r}"
    return probe


MODEL_SPEC_VAR = "AGENTFORGE_MODEL_SPEC"
MODEL_ENDPOINT_VAR = "AGENTFORGE_MODEL_ENDPOINT"


def configured_model_check() -> tuple[bool, str] | None:
    """For `doctor`: check the model named by $AGENTFORGE_MODEL_SPEC (None when unset)."""
    import os

    from agentforge.errors import ConfigError
    from agentforge.llm.spec import resolve_endpoint

    spec = os.environ.get(MODEL_SPEC_VAR)
    if not spec:
        return None
    try:
        endpoint = resolve_endpoint(spec, endpoint=os.environ.get(MODEL_ENDPOINT_VAR))
    except ConfigError as exc:
        return False, str(exc)
    report = check_endpoint(endpoint)
    detail = (f"{endpoint.describe()}: chat {'ok' if report.chat.ok else 'FAILED'} "
              f"({report.chat.latency_s:.1f}s), tool calling "
              f"{'ok' if report.tools.ok else 'FAILED: ' + report.tools.detail}")
    if report.hint:
        detail += f"; {report.hint}"
    elif not report.chat.ok:
        detail += f"; {report.chat.detail}"
    return report.ok, detail

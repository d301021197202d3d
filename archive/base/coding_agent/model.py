"""Model: chat calls through the official openai client, with the run's budget enforced."""

from __future__ import annotations

import re
import time

import openai

from coding_agent.settings import Limits, Pricing
from coding_agent.trajectory import Trajectory


class LimitReached(Exception):
    """A run-wide budget is spent (ours or the gateway's); `reason` is the stop reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelError(Exception):
    """The model endpoint failed after the client's retries."""


# OpenAI's reasoning models take `max_completion_tokens` instead of `max_tokens` and only
# their default temperature; other servers (vLLM, older models) take `max_tokens`.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)


def request_params(name: str) -> dict[str, str | None]:
    """How this model takes its limits: the cap's parameter name, and whether temperature."""
    reasoning = bool(_REASONING_MODEL.match(name.rsplit("/", 1)[-1]))
    return {"cap": "max_completion_tokens" if reasoning else "max_tokens",
            "temperature": None if reasoning else "temperature"}


def _rejected(message: str, param: str) -> bool:
    """Whether an endpoint's 400 says `param` is not supported (as OpenAI words it)."""
    text = message.lower().replace("\\", "")
    return f"'{param}'" in text and any(
        word in text for word in ("unsupported", "not supported", "unrecognized", "unknown",
                                  "extra inputs", "only the default"))


class Model:
    """One model behind OPENAI_BASE_URL; every call is recorded in the trajectory."""

    def __init__(self, *, base_url: str, api_key: str, name: str, limits: Limits,
                 pricing: Pricing, trajectory: Trajectory) -> None:
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=2,
                                    timeout=600.0)
        self.name = name
        self.limits = limits
        self.pricing = pricing
        self.trajectory = trajectory
        self.params = request_params(name)

    def check_budget(self) -> None:
        """Raise LimitReached if the run has spent its cost or token budget."""
        spent = self.trajectory.data
        if self.limits.cost_limit and spent["cost"] >= self.limits.cost_limit:
            raise LimitReached("cost_limit")
        if self.limits.token_limit and spent["usage"]["total_tokens"] >= self.limits.token_limit:
            raise LimitReached("token_limit")

    def chat(self, thread: str, messages: list[dict], tools: list[dict] | None = None) -> dict:
        """Send one chat request; return the assistant message as a plain dict."""
        self.check_budget()
        started = time.monotonic()
        try:
            response = self._create(messages, tools)
        except openai.APIStatusError as exc:
            if exc.status_code == 402:  # the gateway's budget for this run or task is spent
                raise LimitReached("budget_exhausted") from exc
            raise ModelError(f"model call for {thread!r} failed: {exc}") from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"model call for {thread!r} failed: {exc}") from exc
        choice = response.choices[0]
        usage = response.usage.model_dump() if response.usage else {}
        self.trajectory.add_model_call(
            thread, usage, self._cost(usage),
            finish_reason=choice.finish_reason, latency=round(time.monotonic() - started, 3),
        )
        return _as_dict(choice.message)

    def _create(self, messages: list[dict], tools: list[dict] | None):
        """One request; a 400 naming a parameter this model refuses teaches us, once each."""
        learned: set[str] = set()
        while True:
            limits = {self.params["cap"]: self.limits.max_tokens}
            if self.params["temperature"]:
                limits["temperature"] = self.limits.temperature
            try:
                return self.client.chat.completions.create(
                    model=self.name, messages=messages, tools=tools or openai.omit, **limits)
            except openai.BadRequestError as exc:
                if "cap" not in learned and _rejected(str(exc), self.params["cap"]):
                    learned.add("cap")
                    self.params["cap"] = ("max_completion_tokens"
                                          if self.params["cap"] == "max_tokens" else "max_tokens")
                elif (self.params["temperature"] and "temperature" not in learned
                      and _rejected(str(exc), "temperature")):
                    learned.add("temperature")
                    self.params["temperature"] = None
                else:
                    raise

    def _cost(self, usage: dict) -> float:
        # A gateway may report the cost itself (OpenRouter-style usage.cost); trust it if so.
        if isinstance(usage.get("cost"), int | float):
            return float(usage["cost"])
        return (self.pricing.input * (usage.get("prompt_tokens") or 0)
                + self.pricing.output * (usage.get("completion_tokens") or 0)) / 1e6


def _as_dict(message) -> dict:
    """The parts of an assistant message that go back into the conversation."""
    reply: dict = {"role": "assistant", "content": message.content or ""}
    if message.tool_calls:
        reply["tool_calls"] = [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}}
            for call in message.tool_calls
            if call.type == "function"  # custom (free-form) tools are not offered
        ]
    return reply

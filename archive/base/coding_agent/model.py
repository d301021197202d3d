"""Model: chat calls to an OpenAI-compatible endpoint over plain HTTP, with the run's budget
enforced.

The standard library speaks the wire (one JSON POST to `/chat/completions`, retried on
timeouts, lost connections, 408/409/429 and 5xx): the openai package's import builds about a
thousand typed models, a third of this agent's start-up CPU, for nothing it uses. The answer
is read from the response body as plain JSON, so that a broken model's reply (`message:
null`, `choices: []`, a body that is not JSON) becomes an empty reply, which the caller
counts as malformed, rather than a crash.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import urllib.error
import urllib.request

from coding_agent.settings import Limits, Pricing
from coding_agent.trajectory import Trajectory

RETRIED_STATUSES = {408, 409, 429}
"""Besides 5xx: statuses worth another try (as the openai client retries them)."""
MAX_BACKOFF = 8.0


class LimitReached(Exception):
    """A run-wide budget is spent (ours or the gateway's); `reason` is the stop reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EndpointError(Exception):
    """The endpoint answered with an error status, or not at all."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "",
                 timed_out: bool = False) -> None:
        super().__init__(f"{message}: {body[:500]}" if body else message)
        self.status = status
        self.body = body
        self.timed_out = timed_out


class ModelError(Exception):
    """The model endpoint failed after the client's retries; `stop_reason` says how."""

    def __init__(self, message: str, stop_reason: str = "model_error") -> None:
        super().__init__(message)
        self.stop_reason = stop_reason


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
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
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
        """Send one chat request; return the assistant message as a plain dict.

        A reply without a usable message comes back empty (content "", no tool calls), with
        what was wrong recorded under `malformed` in the trajectory's model call. Tool calls
        are dropped when no tools were offered: unanswered, they would make the endpoint
        refuse the conversation's next request.
        """
        self.check_budget()
        started = time.monotonic()
        try:
            body = self._create(messages, tools)
        except EndpointError as exc:
            if exc.timed_out:
                tries = self.limits.model_retries + 1
                raise ModelError(f"model call for {thread!r} got no answer within "
                                 f"{self.limits.model_timeout:g}s ({tries} tries)",
                                 "model_timeout") from exc
            if exc.status == 402:  # the gateway's budget for this run or task is spent
                raise LimitReached("budget_exhausted") from exc
            raise ModelError(f"model call for {thread!r} failed: {exc}") from exc
        reply, finish_reason, malformed = read_completion(body)
        if not tools and reply.pop("tool_calls", None):
            malformed = malformed or "tool calls, but no tools were offered"
        usage = read_usage(body)
        details = {"malformed": malformed} if malformed else {}
        self.trajectory.add_model_call(
            thread, usage, self._cost(usage), finish_reason=finish_reason,
            latency=round(time.monotonic() - started, 3), **details,
        )
        return reply

    def _create(self, messages: list[dict], tools: list[dict] | None) -> object:
        """One request, its body parsed as JSON (None if it is not JSON); a 400 naming a
        parameter this model refuses teaches us, once each."""
        learned: set[str] = set()
        while True:
            request = {"model": self.name, "messages": messages,
                       self.params["cap"]: self.limits.max_tokens}
            if self.params["temperature"]:
                request["temperature"] = self.limits.temperature
            if tools:
                request["tools"] = tools
            try:
                raw = self._post(request)
            except EndpointError as exc:
                if exc.status != 400:
                    raise
                if "cap" not in learned and _rejected(exc.body, self.params["cap"]):
                    learned.add("cap")
                    self.params["cap"] = ("max_completion_tokens"
                                          if self.params["cap"] == "max_tokens" else "max_tokens")
                elif (self.params["temperature"] and "temperature" not in learned
                      and _rejected(exc.body, "temperature")):
                    learned.add("temperature")
                    self.params["temperature"] = None
                else:
                    raise
                continue
            try:
                return json.loads(raw)
            except ValueError:
                return None

    def _post(self, request: dict) -> bytes:
        """POST the request, retried (`model_retries`) with a growing pause; the body."""
        data = json.dumps(request).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Authorization": f"Bearer {self.api_key}"}
        attempt = 0
        while True:
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url, data, headers),
                                            timeout=self.limits.model_timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                failure = EndpointError(f"HTTP {exc.code}", status=exc.code,
                                        body=exc.read().decode("utf-8", "replace"))
                wait = _retry_after(exc.headers.get("retry-after"))
            except TimeoutError as exc:
                failure, wait = EndpointError(f"no answer: {exc}", timed_out=True), None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)  # refused, reset, cut short
                failure = EndpointError(f"connection failed: {reason!r}",
                                        timed_out=isinstance(reason, TimeoutError))
                wait = None
            retried = failure.status is None or failure.status in RETRIED_STATUSES \
                or failure.status >= 500
            if not retried or attempt >= self.limits.model_retries:
                raise failure
            attempt += 1
            time.sleep(wait if wait is not None else
                       min(0.5 * 2 ** (attempt - 1), MAX_BACKOFF) * (0.75 + random.random() / 4))

    def _cost(self, usage: dict) -> float:
        # A gateway may report the cost itself (OpenRouter-style usage.cost); trust it if so.
        if isinstance(usage.get("cost"), int | float):
            return float(usage["cost"])
        return (self.pricing.input * (usage.get("prompt_tokens") or 0)
                + self.pricing.output * (usage.get("completion_tokens") or 0)) / 1e6


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (None if absent, a date, or over a minute)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 60 else None


def read_completion(body: object) -> tuple[dict, str | None, str | None]:
    """The assistant message of a chat completion body as a plain dict, the finish reason,
    and what made the reply malformed (None if nothing did)."""
    empty = {"role": "assistant", "content": ""}
    if not isinstance(body, dict):
        return empty, None, "the response body is not a JSON object"
    choices = body.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        return empty, None, "the response has no choices"
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        return empty, choice.get("finish_reason"), "the response's message is null"
    content = message.get("content")
    reply: dict = {"role": "assistant", "content": content if isinstance(content, str) else ""}
    raw_calls = message.get("tool_calls")
    calls = [_tool_call(call, number) for number, call in
             enumerate(raw_calls if isinstance(raw_calls, list) else [])]
    if any(calls):
        reply["tool_calls"] = [call for call in calls if call]
    return reply, choice.get("finish_reason"), None


def read_usage(body: object) -> dict:
    """The numbers of a completion's `usage` (token counts, and a cost if the server gives one)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return {}
    return {key: value for key, value in usage.items()
            if isinstance(value, int | float) and not isinstance(value, bool)}


def _tool_call(call: object, number: int) -> dict | None:
    """One function tool call in the form the conversation sends back; None if it has none."""
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        return None  # custom (free-form) tools are not offered
    function = call.get("function")
    if not isinstance(function, dict):
        return None
    arguments = function.get("arguments")
    if not isinstance(arguments, str):  # some servers send an object; the tools parse text
        arguments = json.dumps(arguments) if arguments is not None else ""
    return {"id": str(call.get("id") or f"call_{number}"), "type": "function",
            "function": {"name": str(function.get("name") or ""), "arguments": arguments}}

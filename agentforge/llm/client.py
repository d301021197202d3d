"""ModelClient: the official openai client with bounded retries, the ledger and the cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletion

from agentforge.llm.config import LLMConfig, RetryPolicy
from agentforge.llm.errors import ModelRequestError, ModelUnavailable
from agentforge.llm.ledger import CachedResponse, CallContext, Ledger, ModelCall, request_hash
from agentforge.llm.params import TOKEN_PARAMS, learn_from_error, token_param, use_token_param
from agentforge.llm.retry import GaveUp, retry_call
from agentforge.llm.spec import Endpoint, role_endpoint

T = TypeVar("T")
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
             openai.APIConnectionError)


class InvalidAnswer(Exception):
    """The server answered 200 with something that is not a chat completion."""


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts, connection failures and answers that are not a chat completion
    are worth another try; the rest are not."""
    if isinstance(exc, RETRYABLE + (InvalidAnswer,)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def call_with_retries(request: Callable[[], T], endpoint: Endpoint, policy: RetryPolicy,
                      check: Callable[[T], None] | None = None) -> T:
    """Run `request`, retrying bounded on transient failures, then raise a ModelError.

    `check` may raise InvalidAnswer for a result that is not usable (retried like a 5xx).
    """
    def attempt() -> T:
        try:
            result = request()
            if check is not None:
                check(result)
            return result
        except (InvalidAnswer, ValueError) as exc:  # truncated or non-JSON bodies
            raise InvalidAnswer(f"the answer is not a chat completion ({exc})") from exc

    try:
        return retry_call(attempt, policy, failures=(openai.APIError, InvalidAnswer),
                          retryable=is_retryable)
    except GaveUp as gave_up:
        failure = gave_up.failure
        if not is_retryable(failure):
            raise ModelRequestError(
                f"model {endpoint.describe()} rejected the request: {failure}") from failure
        raise ModelUnavailable(
            unavailable_message(endpoint, failure, gave_up.attempts)) from failure


def unavailable_message(endpoint: Endpoint, exc: BaseException, attempts: int) -> str:
    """Why a model could not be reached, and what to check."""
    status = getattr(exc, "status_code", None)
    what = f"HTTP {status}" if status else type(exc).__name__
    return (f"model {endpoint.describe()} failed after {attempts} attempt(s) ({what}: {exc}). "
            f"Check that the server is up (GET {endpoint.base_url}/models), that the model name "
            "is served there, and the API key; a rate limit may need a lower concurrency.")


class ModelClient:
    """Chat with one endpoint; every call is retried, booked in the ledger and maybe cached."""

    def __init__(self, endpoint: Endpoint, *, retry: RetryPolicy | None = None,
                 ledger: Ledger | None = None, context: CallContext | None = None,
                 use_cache: bool = False, defaults: dict[str, Any] | None = None) -> None:
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.ledger = ledger
        self.context = context or CallContext()
        self.use_cache = use_cache and ledger is not None
        self.defaults = defaults or {}
        self.token_param_sent: str | None = None
        """The completion-cap parameter the last request carried (None: it had no cap)."""
        # Our own retry loop decides (and reports); the client's built-in one stays off.
        self.openai = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key,
                                    max_retries=0, timeout=self.retry.timeout)

    @classmethod
    def for_role(cls, role: str, config: LLMConfig, **kwargs: Any) -> ModelClient:
        """A client for `diagnose` or `agent` as configured."""
        chosen = config.role(role)
        defaults = {k: v for k, v in (("temperature", chosen.temperature),
                                      ("max_tokens", chosen.max_tokens)) if v is not None}
        context = kwargs.pop("context", None) or CallContext(role=role)
        return cls(role_endpoint(role, config), retry=config.retry, context=context,
                   defaults=defaults, **kwargs)

    def chat(self, messages: list[dict], *, tools: list[dict] | None = None,
             **params: Any) -> ChatCompletion:
        """One chat completion (non-streaming)."""
        body: dict[str, Any] = {"model": self.endpoint.model, "messages": messages,
                                **self.defaults, **params}
        if tools:
            body["tools"] = tools
        # Scoped like the gateway's cache: the same request in the same scope is answered
        # from the cache, while another run (or node, or task, or self-improvement step)
        # asking the same thing samples afresh: a parent expanded again must not get its
        # last proposal back (so a step killed midway and planned anew pays its diagnosis
        # again).
        ctx = self.context
        scope = f"{ctx.run_id}/{ctx.node_id}/{ctx.task_id}/{ctx.role}"
        if ctx.step_id:
            scope += f"/{ctx.step_id}"
        key = request_hash({"scope": scope, "request": body})
        if self.use_cache:
            hit = self.ledger.cached(key)
            if hit is not None:
                self._book(key, 0.0, "cached", cached=True, tokens=(hit.prompt_tokens,
                                                                    hit.completion_tokens))
                return ChatCompletion.model_validate_json(hit.body)
        started = time.monotonic()
        try:
            reply = call_with_retries(lambda: self._create(body), self.endpoint, self.retry,
                                      check=_is_completion)
        except (ModelUnavailable, ModelRequestError) as exc:
            self._book(key, time.monotonic() - started, "error", error=str(exc))
            raise
        usage = reply.usage
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        self._book(key, time.monotonic() - started, "ok", tokens=tokens)
        if self.use_cache:
            self.ledger.remember(CachedResponse(
                request_hash=key, model=self.endpoint.model, body=reply.model_dump_json(),
                prompt_tokens=tokens[0], completion_tokens=tokens[1]))
        return reply

    def _create(self, body: dict[str, Any]) -> ChatCompletion:
        """One request, with the completion cap under the name this model takes."""
        model = self.endpoint.model
        sent = use_token_param(body, token_param(model))
        try:
            return self._send(sent)
        except openai.BadRequestError as exc:
            name = next((n for n in TOKEN_PARAMS if n in sent), None)
            if name is None or learn_from_error(model, name, str(exc)) is None:
                raise
            return self._send(use_token_param(body, token_param(model)))

    def _send(self, body: dict[str, Any]) -> ChatCompletion:
        self.token_param_sent = next((n for n in TOKEN_PARAMS if n in body), None)
        return self.openai.chat.completions.create(**body)

    def _book(self, key: str, latency: float, status: str, *, cached: bool = False,
              tokens: tuple[int, int] = (0, 0), error: str | None = None) -> None:
        if self.ledger is None:
            return
        self.ledger.record(ModelCall(
            **self.context.fields(), model=self.endpoint.model, endpoint=self.endpoint.base_url,
            prompt_tokens=tokens[0], completion_tokens=tokens[1], latency_s=latency,
            status=status, cached=cached, error=error, request_hash=key))


def _is_completion(reply: object) -> None:
    # A 200 with an HTML page parses as a plain string, not as a ChatCompletion.
    if not isinstance(reply, ChatCompletion) or reply.choices is None:
        raise InvalidAnswer(f"got {type(reply).__name__}: {str(reply)[:200]!r}")

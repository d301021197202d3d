"""One chat request through the gateway: budget, cache, upstream with retries, ledger."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Protocol

from agentforge.llm.client import backoff_delay
from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway_budget import BudgetRefused, Reservation
from agentforge.llm.gateway_upstream import UpstreamFailure
from agentforge.llm.ledger import CacheEntry, CallRecord, request_hash
from agentforge.llm.params import (
    OPENAI_CHAT_FIELDS,
    TOKEN_PARAMS,
    count_field_problem,
    learn_from_error,
    token_param,
    use_token_param,
)

if TYPE_CHECKING:
    from agentforge.llm.gateway import Grant

_CALLER_GONE = (BrokenPipeError, ConnectionResetError)


class Responder(Protocol):
    """What the relay needs of the HTTP side (gateway_http.GatewayHandler) to answer."""

    close_connection: bool

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None: ...

    def send_error_json(self, status: int, message: str, kind: str) -> None: ...

    def start_stream(self) -> None: ...

    def send_chunk(self, data: bytes) -> None: ...


def answer_chat(handler: Responder, grant: Grant, body: dict) -> None:
    """Answer one chat completion request for a grant and book it."""
    gateway = grant.gateway
    # Only what the OpenAI protocol defines goes upstream; the run decides the model.
    body = {name: value for name, value in body.items() if name in OPENAI_CHAT_FIELDS}
    body["model"] = gateway.upstream.model
    problem = count_field_problem(body)
    if problem is not None:  # refused before anything is reserved, sent or cached
        handler.send_error_json(400, f"agentforge gateway: {problem}", "invalid_request_error")
        return
    streaming = bool(body.get("stream"))
    key = cache_key(grant, body)
    call = new_call(grant, key, streamed=streaming)
    try:
        reservation = gateway.reserve(grant, body)
    except BudgetRefused as refused:
        _fail(call, refused.status, refused.message, outcome="budget_exceeded")
        gateway.book(call)
        kind = "budget_exceeded" if refused.status == 402 else "budget_held"
        handler.send_error_json(refused.status, refused.message, kind)
        return
    hit = gateway.cached(key) if gateway.cache else None
    if hit is not None:
        call.cached, call.status = True, "cached"
        call.prompt_tokens, call.completion_tokens = hit.prompt_tokens, hit.completion_tokens
        call.http_status = 200
        gateway.book(call, reservation)
        handler.send_bytes(200, hit.body.encode(), hit.content_type)
        return
    ledger_entry = _Booking(gateway, call, reservation)
    try:
        if streaming:
            _relay_stream(handler, grant, body, ledger_entry, key)
        else:
            _relay_plain(handler, grant, body, ledger_entry, key)
    except _CALLER_GONE:
        if not ledger_entry.done:
            _fail(call, 499, "the caller hung up before the answer was complete")
        handler.close_connection = True
    finally:
        ledger_entry.book()


class _Booking:
    """Books a call exactly once, before its last bytes go out, so that the caller's next
    request already sees the budget spent and a flush() after the answer finds the row."""

    def __init__(self, gateway, call: CallRecord, reservation: Reservation) -> None:
        self.gateway = gateway
        self.call = call
        self.reservation = reservation
        self.started = time.monotonic()
        self.done = False

    def book(self) -> None:
        if not self.done:
            self.done = True
            self.call.latency_s = time.monotonic() - self.started
            self.gateway.book(self.call, self.reservation)


def _relay_plain(handler: Responder, grant: Grant, body: dict, entry: _Booking,
                 key: str) -> None:
    gateway, call = grant.gateway, entry.call
    body = use_token_param(body, token_param(gateway.upstream.model))
    payload = json.dumps(body).encode()
    policy = gateway.retry
    attempt, switched = 0, False
    while True:
        attempt += 1
        try:
            raw, content_type, parsed = gateway.http.post(payload)
            break
        except UpstreamFailure as failure:
            if not switched and _switch_token_param(gateway, body, failure):
                switched = True  # once: the endpoint told us which name it takes
                body = use_token_param(body, token_param(gateway.upstream.model))
                payload, attempt = json.dumps(body).encode(), attempt - 1
                continue
            if failure.retryable and attempt < policy.attempts:
                sleep_before_retry(failure, attempt, policy)
                continue
            message = _attempts_note(str(failure), attempt)
            _fail(call, failure.status, message)
            entry.book()
            handler.send_error_json(failure.status, message, "upstream_error")
            return
    usage = parsed.get("usage") or {}
    _count(call, usage, len(payload), len(raw))
    call.http_status = 200
    remember(grant, key, raw, content_type, usage)
    entry.book()
    handler.send_bytes(200, raw, content_type)


def _relay_stream(handler: Responder, grant: Grant, body: dict, entry: _Booking,
                  key: str) -> None:
    gateway, call = grant.gateway, entry.call
    # Ask for usage in the last chunk so the ledger gets real token counts.
    options = {**(body.get("stream_options") or {}), "include_usage": True}
    body = use_token_param({**body, "stream_options": options},
                           token_param(gateway.upstream.model))
    payload = json.dumps(body).encode()
    policy = gateway.retry
    attempt, switched = 0, False
    while True:
        attempt += 1
        parser = _SSEParser()
        try:
            _stream_once(handler, gateway, payload, parser)
        except UpstreamFailure as failure:
            if parser.started:  # bytes went out: the caller gets an error event, no retry
                message = _attempts_note(str(failure), attempt)
                _fail(call, 499 if parser.caller_gone else 502, message)
                _count(call, parser.usage, len(payload), parser.relayed)
                entry.book()
                if parser.caller_gone:
                    return
                event = {"error": {"message": message, "type": "upstream_error",
                                   "code": "upstream_error"}}
                handler.send_chunk(f"data: {json.dumps(event)}\n\n".encode())
                handler.send_chunk(b"")
                return
            if not switched and _switch_token_param(gateway, body, failure):
                switched = True  # once: the endpoint told us which name it takes
                body = use_token_param(body, token_param(gateway.upstream.model))
                payload, attempt = json.dumps(body).encode(), attempt - 1
                continue
            if failure.retryable and attempt < policy.attempts:
                sleep_before_retry(failure, attempt, policy)
                continue
            message = _attempts_note(str(failure), attempt)
            _fail(call, failure.status, message)
            entry.book()
            handler.send_error_json(failure.status, message, "upstream_error")
            return
        _count(call, parser.usage, len(payload), parser.relayed)
        if parser.caller_gone:  # the answer was read to its end and is booked in full
            _fail(call, 499, "the caller hung up before the end of the stream; the model's "
                  "answer was read to its end and booked")
            entry.book()
            return
        call.http_status = 200
        remember(grant, key, b"".join(parser.events), "text/event-stream", parser.usage)
        entry.book()
        # Only now the [DONE]: once the caller has its answer, its next request (and a
        # flush()) already finds the call booked.
        if not parser.started:
            handler.start_stream()
        handler.send_chunk(parser.closing)
        handler.send_chunk(b"")
        return


def _switch_token_param(gateway, body: dict, failure: UpstreamFailure) -> bool:
    """After a 400 naming the completion-cap parameter we sent, use the other one."""
    sent = next((name for name in TOKEN_PARAMS if name in body), None)
    if failure.status != 400 or sent is None:
        return False
    return learn_from_error(gateway.upstream.model, sent, str(failure)) is not None


def _stream_once(handler: Responder, gateway, payload: bytes, parser: _SSEParser) -> None:
    upstream = gateway.http
    with upstream.stream(payload) as pieces:
        for data in pieces:
            for event in parser.feed(data, upstream):
                if parser.caller_gone:
                    continue  # read on until the usage arrives, so that the call is booked
                try:
                    if not parser.started:
                        handler.start_stream()
                        parser.started = True
                    handler.send_chunk(event)
                except _CALLER_GONE + (TimeoutError,):
                    parser.caller_gone = parser.started = True
                    handler.close_connection = True
    if not parser.done:
        raise upstream.failure(0, "ended the stream without its closing [DONE] event"
                               + (f"; it sent {parser.rest()!r}" if parser.rest() else ""),
                               True)


class _SSEParser:
    """Splits an SSE byte stream into whole events, checking each data payload is JSON."""

    def __init__(self) -> None:
        self.buffer = b""
        self.events: list[bytes] = []
        self.usage: dict = {}
        self.done = False
        self.closing = b""
        self.started = False
        self.caller_gone = False
        self.relayed = 0

    def feed(self, data: bytes, upstream) -> list[bytes]:
        self.buffer += data.replace(b"\r\n", b"\n")
        ready = []
        while b"\n\n" in self.buffer:
            event, self.buffer = self.buffer.split(b"\n\n", 1)
            event += b"\n\n"
            payload = b"".join(line[5:].strip() for line in event.split(b"\n")
                               if line.startswith(b"data:"))
            if payload == b"[DONE]":
                # Held back until the call is booked: a client stops reading at [DONE].
                self.done, self.closing = True, event
                self.events.append(event)
                self.relayed += len(event)
                continue
            if payload:
                try:
                    parsed = json.loads(payload)
                except ValueError as exc:
                    raise upstream.failure(0, f"sent an invalid stream event {payload[:200]!r}",
                                           True) from exc
                if isinstance(parsed, dict) and parsed.get("usage"):
                    self.usage = parsed["usage"]
            self.events.append(event)
            self.relayed += len(event)
            ready.append(event)
        return ready

    def rest(self) -> bytes:
        return self.buffer[:200]


def new_call(grant: Grant, key: str, *, streamed: bool) -> CallRecord:
    """A ledger row for one request under a grant, to be completed by the relay."""
    gateway = grant.gateway
    return CallRecord(**grant.context.fields(), model=gateway.upstream.model,
                     endpoint=gateway.upstream.base_url, request_hash=key, streamed=streamed)


def cache_key(grant: Grant, body: dict) -> str:
    """The cache key: the request plus the grant's cache scope."""
    return request_hash({"scope": grant.cache_scope, "request": body})


def remember(grant: Grant, key: str, body: bytes, content_type: str, usage: dict) -> None:
    """Cache a complete successful answer."""
    if grant.gateway.cache:
        grant.gateway.remember(CacheEntry(
            request_hash=key, model=grant.gateway.upstream.model, content_type=content_type,
            body=body.decode("utf-8", "replace"), prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0)))


def sleep_before_retry(failure: UpstreamFailure, attempt: int, policy: RetryPolicy) -> None:
    """Back off before the next attempt."""
    time.sleep(backoff_delay(failure, attempt, policy))


def _count(call: CallRecord, usage: dict, sent: int, received: int) -> None:
    # Without usage from the upstream, estimate (~4 bytes a token) so budgets still bite.
    call.prompt_tokens = int(usage.get("prompt_tokens") or max(1, sent // 4))
    call.completion_tokens = int(usage.get("completion_tokens") or max(1, received // 4))


def _fail(call: CallRecord, http_status: int, message: str, outcome: str = "error") -> None:
    call.status = outcome
    call.http_status = http_status
    call.error = message


def _attempts_note(message: str, attempts: int) -> str:
    return f"{message} (after {attempts} attempt(s); retry later, or stop if it persists)"

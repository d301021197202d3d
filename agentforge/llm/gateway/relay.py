"""One chat request through the gateway: budget, cache, upstream with retries, ledger."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from agentforge.llm.gateway.budget import BudgetRefused, Reservation
from agentforge.llm.gateway.upstream import UpstreamFailure
from agentforge.llm.ledger import CacheEntry, CallRecord, request_hash
from agentforge.llm.params import (
    OPENAI_CHAT_FIELDS,
    TOKEN_PARAMS,
    learn_from_error,
    request_problem,
    token_param,
    use_token_param,
)
from agentforge.llm.retry import GaveUp, retry_call

if TYPE_CHECKING:
    from agentforge.llm.gateway import Grant

T = TypeVar("T")
_CALLER_GONE = (BrokenPipeError, ConnectionResetError)


class Responder(Protocol):
    """What the relay needs of the HTTP side (http.GatewayHandler) to answer."""

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
    problem = request_problem(body)
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
    request = _UpstreamRequest(gateway, body)
    try:
        raw, content_type, parsed = retry_call(
            lambda: request.send(gateway.http.post), gateway.retry,
            failures=UpstreamFailure, retryable=_is_retryable)
    except GaveUp as gave_up:
        _refuse(handler, entry, gave_up)
        return
    usage = parsed.get("usage") or {}
    _count(call, usage, len(request.payload), len(raw))
    call.http_status = 200
    remember(grant, key, raw, content_type, usage)
    entry.book()
    handler.send_bytes(200, raw, content_type)


def _relay_stream(handler: Responder, grant: Grant, body: dict, entry: _Booking,
                  key: str) -> None:
    gateway, call = grant.gateway, entry.call
    # Ask for usage in the last chunk so the ledger gets real token counts.
    options = {**(body.get("stream_options") or {}), "include_usage": True}
    request = _UpstreamRequest(gateway, {**body, "stream_options": options})
    parser = _SSEParser()

    def stream_once(payload: bytes) -> None:
        nonlocal parser
        parser = _SSEParser()  # each try starts from an empty stream
        _stream_once(handler, gateway, payload, parser)

    def retryable(failure: UpstreamFailure) -> bool:
        return failure.retryable and not parser.started  # bytes went out: no retry

    try:
        retry_call(lambda: request.send(stream_once), gateway.retry,
                   failures=UpstreamFailure, retryable=retryable)
    except GaveUp as gave_up:
        if parser.started:  # the caller gets an error event
            _end_stream_with_error(handler, entry, parser, gave_up, len(request.payload))
        else:
            _refuse(handler, entry, gave_up)
        return
    _count(call, parser.usage, len(request.payload), parser.relayed)
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


class _UpstreamRequest:
    """A request body for the upstream, with the completion cap under the name the model
    takes, sent again at once (the same attempt) under the other name after a 400 that
    names the one sent: once, since the endpoint then told us which name it takes."""

    def __init__(self, gateway, body: dict) -> None:
        self.gateway = gateway
        self._encode(body)
        self.switched = False

    def send(self, transport: Callable[[bytes], T]) -> T:
        try:
            return transport(self.payload)
        except UpstreamFailure as failure:
            if self.switched or not _switch_token_param(self.gateway, self.body, failure):
                raise
            self.switched = True
            self._encode(self.body)
            return transport(self.payload)

    def _encode(self, body: dict) -> None:
        self.body = use_token_param(body, token_param(self.gateway.upstream.model))
        self.payload = json.dumps(self.body).encode()


def _is_retryable(failure: UpstreamFailure) -> bool:
    return failure.retryable


def _refuse(handler: Responder, entry: _Booking, gave_up: GaveUp) -> None:
    """The upstream gave no answer: the caller gets its status and why, the call is booked."""
    failure = gave_up.failure
    message = _attempts_note(str(failure), gave_up.attempts)
    _fail(entry.call, failure.status, message)
    entry.book()
    handler.send_error_json(failure.status, message, "upstream_error")


def _end_stream_with_error(handler: Responder, entry: _Booking, parser: _SSEParser,
                           gave_up: GaveUp, sent: int) -> None:
    """A stream cut after bytes went out ends with an SSE error event (unless the caller
    is gone); the call is booked with what was relayed."""
    call = entry.call
    message = _attempts_note(str(gave_up.failure), gave_up.attempts)
    _fail(call, 499 if parser.caller_gone else 502, message)
    _count(call, parser.usage, sent, parser.relayed)
    entry.book()
    if parser.caller_gone:
        return
    event = {"error": {"message": message, "type": "upstream_error", "code": "upstream_error"}}
    handler.send_chunk(f"data: {json.dumps(event)}\n\n".encode())
    handler.send_chunk(b"")


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

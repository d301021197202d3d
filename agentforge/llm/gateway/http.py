"""The gateway's HTTP side: authenticate, check budgets, answer from cache, relay upstream."""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from agentforge.llm.gateway.relay import answer_chat
from agentforge.llm.gateway.server import IDLE_TIMEOUT, Allowance

if TYPE_CHECKING:
    from agentforge.llm.gateway import Gateway, Grant

_DISCARDED_BODY_BYTES = 256 * 1024
COPIES = 3
"""Copies of a body a request holds at its peak: the bytes, their decoded text and the parsed
text (then the parsed text, the payload sent upstream and its encoding)."""
BYTES_PER_VALUE = 40
"""Memory a JSON value takes once parsed beyond its text (a dict 64 bytes, a string ~50, a
slot in its list 8), charged per character that can start or separate one."""
HELD_BEFORE_READ = COPIES + 1
"""Bytes of memory held per byte of body before it is read: its copies, and room for the
values of ordinary text (a mark every 40 bytes). Only a body with more values (body_weight)
needs more once read, and that is taken without waiting: a request that waited for room
holding some would deadlock with another doing the same."""
_VALUE_MARKS = (b"{", b"[", b",", b'"', b":")
MAX_NESTING = 100
"""Deepest nesting of arrays and objects accepted in a body. No chat request comes near it
(OpenAI's structured outputs allow 10 levels of schema), and Python's JSON encoder and
decoder recurse once per level: far deeper, they overflow the stack."""


class GatewayHandler(BaseHTTPRequestHandler):
    """One connection from a sandbox (through its forwarder) or a host-side caller."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # any one read or write; a slow request has its own deadline

    def setup(self) -> None:
        self.timeout = self.gateway.limits.idle_timeout
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every answer on the TCP listener.
        self.disable_nagle_algorithm = self.request.family == socket.AF_INET
        super().setup()

    @property
    def gateway(self) -> Gateway:
        return self.server.gateway  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # every call is in the ledger; an access log would only repeat it

    def address_string(self) -> str:
        return "sandbox"  # unix-socket peers have no address

    def handle_one_request(self) -> None:
        # Waiting for the next request on a kept-alive connection is bounded...
        self.gateway.deadlines.watch(self.connection, self.gateway.limits.idle_timeout)
        try:
            super().handle_one_request()
        finally:
            self.gateway.deadlines.clear(self.connection)

    def parse_request(self) -> bool:
        # ...and once its first line is in, the rest of a request must follow promptly: a
        # slow sender must not hold a thread and a connection for long.
        self.gateway.deadlines.watch(self.connection, self.gateway.limits.request_timeout)
        return super().parse_request()

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.gateway.deadlines.clear(self.connection)
        path = self.path.split("?")[0].rstrip("/")
        if path == "/health":
            self.send_json(200, {"status": "ok"})
        elif path in ("/v1/models", "/models"):
            model = self.gateway.upstream.model
            self.send_json(200, {"object": "list", "data": [
                {"id": model, "object": "model", "created": 0, "owned_by": "agentforge"}]})
        else:
            self.send_error_json(404, f"agentforge gateway: no route GET {path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?")[0].rstrip("/")
        # Nothing of the body is read before the key, the size and the memory it will take are
        # checked: an unknown caller, a huge body or a flood of them is answered and the
        # connection closed.
        grant = self._grant()
        if grant is None:
            self.refuse(401, "agentforge gateway: unknown or revoked API key; use the "
                        "OPENAI_API_KEY this sandbox was given", "invalid_api_key")
            return
        size = self._declared_size()
        if size is None:
            return
        with _InFlight(self.gateway.in_flight, self.server.limit_key) as held:
            if not self._hold(held, HELD_BEFORE_READ * size, size, before_read=True):
                return
            raw = self.rfile.read(size)
            if len(raw) < size:  # hung up, or cut off by the request deadline
                self.close_connection = True
                return
            self.gateway.deadlines.clear(self.connection)
            more = body_weight(raw) - held.amount
            if more > 0 and not self._hold(held, more, size, before_read=False):
                return
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self.send_error_json(404, f"agentforge gateway: no route POST {path}; only "
                                     "/v1/chat/completions is served", "not_found")
                return
            try:
                body = parse_body(raw)
            except ValueError as exc:
                self.send_error_json(400, f"agentforge gateway: the request body is not a chat "
                                     f"request: {exc}. Send one JSON object, as OpenAI's chat "
                                     "completions API defines it.", "invalid_request_error")
                return
            del raw  # the parsed body is what the relay holds on to
            answer_chat(self, grant, body)

    def _grant(self) -> Grant | None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        own = getattr(self.server, "grant_token", None)
        if own is not None and token != own:
            return None  # a grant's socket serves that grant only
        return self.gateway.grant_for(token)

    def _declared_size(self) -> int | None:
        """The body's size from its Content-Length, or None after answering why it is refused."""
        length = self.headers.get("Content-Length")
        if length is None:
            self.refuse(411, "agentforge gateway: send the body with a Content-Length "
                        "(chunked request bodies are not accepted)", "length_required")
            return None
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            self.refuse(400, f"agentforge gateway: bad Content-Length {length!r}",
                        "invalid_request_error")
            return None
        limit = self.gateway.limits.max_body_bytes
        if size > limit:
            self.refuse(413, f"agentforge gateway: the request body has {size} bytes, more than "
                        f"the {limit} accepted; send a shorter conversation",
                        "request_too_large")
            return None
        return size

    def _hold(self, held: _InFlight, amount: int, size: int, *, before_read: bool) -> bool:
        """Take `amount` more bytes in flight for this request, or answer why not."""
        allowance = held.allowance
        most = min(allowance.per_grant, allowance.total)
        if held.amount + amount > most:  # it would never fit
            self._answer_refusal(before_read, 413, f"agentforge gateway: the request body "
                                 f"({size:,} bytes) would take ~{held.amount + amount:,} bytes "
                                 f"of memory once parsed, more than the {most:,} one sandbox may "
                                 "hold; send fewer, longer values (a shorter conversation)",
                                 "request_too_large")
            return False
        # Room may free up soon (a request in flight finishing): wait for it a little, well
        # within the request's deadline, but only while holding nothing.
        wait = self.gateway.limits.request_timeout / 3 if before_read else 0.0
        refused = held.take(amount, wait)
        if refused is not None:
            self._answer_refusal(before_read, 503, f"agentforge gateway: {refused}",
                                 "too_many_requests")
            return False
        return True

    def _answer_refusal(self, before_read: bool, status: int, message: str, kind: str) -> None:
        if before_read:
            self.refuse(status, message, kind)
        else:
            self.send_error_json(status, message, kind)

    def refuse(self, status: int, message: str, kind: str) -> None:
        """An error answer after which the connection closes (its body stays unread)."""
        self.close_connection = True
        # A small body is read and dropped, so that closing with unread bytes (a TCP reset)
        # does not swallow our answer; a large one is never read.
        with contextlib.suppress(ValueError, OSError):
            size = int(self.headers.get("Content-Length") or 0)
            if 0 < size <= _DISCARDED_BODY_BYTES:
                self.rfile.read(size)
        self.send_response(status)
        self.send_header("Connection", "close")
        if status == 503:
            self.send_header("Retry-After", "1")
        body = json.dumps({"error": {"message": message, "type": kind, "param": None,
                                     "code": kind}}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    # -- writing -----------------------------------------------------------------------------

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        """A complete response with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: one syscall less per answer on the hot path.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def send_json(self, status: int, body: dict) -> None:
        """A JSON response."""
        self.send_bytes(status, json.dumps(body).encode(), "application/json")

    def send_error_json(self, status: int, message: str, kind: str) -> None:
        """An OpenAI-style error the agent's client turns into a readable exception."""
        self.send_json(status, {"error": {"message": message, "type": kind, "param": None,
                                          "code": kind}})

    def start_stream(self) -> None:
        """Headers of a chunked SSE response."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        """One chunk of a chunked response (empty data ends it)."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()



def parse_body(raw: bytes) -> dict:
    """The request's JSON object; ValueError says why the body is not one."""
    try:
        body = json.loads(raw, parse_constant=_not_a_number)
    except RecursionError:
        raise ValueError(f"it nests arrays or objects deeper than {MAX_NESTING} levels") from None
    if not isinstance(body, dict):
        raise ValueError(f"it is a JSON {type(body).__name__}, not an object")
    if _nests_deeper(body, MAX_NESTING):
        raise ValueError(f"it nests arrays or objects deeper than {MAX_NESTING} levels")
    return body


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _nests_deeper(value: dict | list, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (without recursing)."""
    stack: list[tuple[dict | list, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def body_weight(raw: bytes) -> int:
    """Memory a request with this body may take in the gateway: its copies, and the overhead of
    every value once parsed (many tiny values take ~25 times their bytes). An upper bound, as
    marks inside strings count too; cheap (C-speed counts, no parsing)."""
    return COPIES * len(raw) + BYTES_PER_VALUE * sum(map(raw.count, _VALUE_MARKS))


class _InFlight:
    """What one request holds of the gateway's bytes-in-flight allowance, given back at exit."""

    def __init__(self, allowance: Allowance, key: str) -> None:
        self.allowance = allowance
        self.key = key
        self.amount = 0

    def take(self, amount: int, wait: float) -> str | None:
        """Hold `amount` more (waiting up to `wait` seconds for room), or return why not."""
        refused = self.allowance.acquire(self.key, amount, wait)
        if refused is None:
            self.amount += amount
        return refused

    def __enter__(self) -> _InFlight:
        return self

    def __exit__(self, *exc_info) -> None:
        self.allowance.release(self.key, self.amount)

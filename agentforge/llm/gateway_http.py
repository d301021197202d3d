"""The gateway's HTTP side: authenticate, check budgets, answer from cache, relay upstream."""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from agentforge.llm.gateway_relay import answer_chat
from agentforge.llm.gateway_server import IDLE_TIMEOUT

if TYPE_CHECKING:
    from agentforge.llm.gateway import Gateway, Grant

_DISCARDED_BODY_BYTES = 256 * 1024
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
        # Nothing of the body is read before the key and the size are checked: an unknown
        # caller or a huge body is answered and the connection closed.
        grant = self._grant()
        if grant is None:
            self.refuse(401, "agentforge gateway: unknown or revoked API key; use the "
                        "OPENAI_API_KEY this sandbox was given", "invalid_api_key")
            return
        raw = self._body()
        if raw is None:
            return
        self.gateway.deadlines.clear(self.connection)
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

    def _body(self) -> bytes | None:
        """The request body, or None after answering why it is not read."""
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
        raw = self.rfile.read(size)
        if len(raw) < size:  # hung up, or cut off by the request deadline
            self.close_connection = True
            return None
        return raw

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

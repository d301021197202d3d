"""The gateway's HTTP side: authenticate, check budgets, answer from cache, relay upstream."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

import httpx

from agentforge.llm.client import backoff_delay
from agentforge.llm.config import RetryPolicy
from agentforge.llm.ledger import CachedResponse, ModelCall, request_hash
from agentforge.llm.spec import Endpoint

if TYPE_CHECKING:
    from agentforge.llm.gateway import Gateway, Grant


class UpstreamFailure(Exception):
    """The upstream gave no usable answer; `status` is what the caller gets."""

    def __init__(self, status: int, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.response: Any = None  # backoff_delay looks for a Retry-After here


class Upstream:
    """A pooled HTTP client to the real model server, holding its credentials."""

    def __init__(self, endpoint: Endpoint, retry: RetryPolicy) -> None:
        self.endpoint = endpoint
        self.retry = retry
        self.url = endpoint.base_url.rstrip("/") + "/chat/completions"
        self.client = httpx.Client(
            timeout=httpx.Timeout(retry.timeout, connect=10.0),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
            headers={"Authorization": f"Bearer {endpoint.api_key}",
                     "Content-Type": "application/json"},
        )

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()

    def failure(self, status: int | None, detail: str, retryable: bool) -> UpstreamFailure:
        """An UpstreamFailure whose message names the upstream and what to check."""
        where = f"the model server at {self.endpoint.base_url} (model {self.endpoint.model!r})"
        code = {429: 429, None: 504}.get(status, 502)
        return UpstreamFailure(code, f"agentforge gateway: {where} {detail}", retryable)

    def post(self, payload: bytes) -> tuple[bytes, str, dict]:
        """One non-streaming request; returns (body, content type, parsed JSON)."""
        try:
            response = self.client.post(self.url, content=payload)
            body = response.content
        except httpx.TimeoutException as exc:
            raise self.failure(None, f"did not answer in time ({exc!r})", True) from exc
        except httpx.HTTPError as exc:
            raise self.failure(0, f"could not be reached or hung up ({exc!r})", True) from exc
        status = response.status_code
        if status >= 400:
            failure = self.failure(status, f"answered HTTP {status}: {body[:300]!r}",
                                   status == 429 or status >= 500)
            if not failure.retryable:
                failure.status = status  # a 4xx is the caller's fault: pass it through
            failure.response = response
            raise failure
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise self.failure(status, f"sent invalid JSON ({exc}): {body[:200]!r}",
                               True) from exc
        return body, response.headers.get("content-type", "application/json"), parsed


class GatewayHandler(BaseHTTPRequestHandler):
    """One connection from a sandbox (through its forwarder) or a host-side caller."""

    protocol_version = "HTTP/1.1"

    @property
    def gateway(self) -> Gateway:
        return self.server.gateway  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # every call is in the ledger; an access log would only repeat it

    def address_string(self) -> str:
        return "sandbox"  # unix-socket peers have no address

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
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
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self.send_error_json(404, f"agentforge gateway: no route POST {path}; only "
                                 "/v1/chat/completions is served", "not_found")
            return
        auth = self.headers.get("Authorization", "")
        grant = self.gateway.grant_for(auth.removeprefix("Bearer ").strip())
        if grant is None:
            self.send_error_json(401, "agentforge gateway: unknown or revoked API key; use the "
                                 "OPENAI_API_KEY this sandbox was given", "invalid_api_key")
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            self.send_error_json(400, f"agentforge gateway: request body is not JSON: {exc}",
                                 "invalid_request_error")
            return
        from agentforge.llm.gateway_relay import answer_chat

        answer_chat(self, grant, body)

    # -- writing -----------------------------------------------------------------------------

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        """A complete response with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

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


def new_call(grant: Grant, key: str, *, streamed: bool) -> ModelCall:
    """A ledger row for one request under a grant, to be completed by the relay."""
    gateway = grant.gateway
    return ModelCall(**grant.context.fields(), model=gateway.upstream.model,
                     endpoint=gateway.upstream.base_url, request_hash=key, streamed=streamed)


def cache_key(grant: Grant, body: dict) -> str:
    """The cache key: the request plus the grant's cache scope."""
    return request_hash({"scope": grant.cache_scope, "request": body})


def remember(grant: Grant, key: str, body: bytes, content_type: str, usage: dict) -> None:
    """Cache a complete successful answer."""
    if grant.gateway.cache:
        grant.gateway.ledger.remember(CachedResponse(
            request_hash=key, model=grant.gateway.upstream.model, content_type=content_type,
            body=body.decode("utf-8", "replace"), prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0)))


def sleep_before_retry(failure: UpstreamFailure, attempt: int, policy: RetryPolicy) -> None:
    """Back off before the next attempt."""
    time.sleep(backoff_delay(failure, attempt, policy))

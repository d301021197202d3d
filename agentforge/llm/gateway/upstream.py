"""The gateway's connection to the real model server: lean, pooled per thread, credentialed.

http.client rather than httpx: the gateway is a relay whose per-request CPU is the cost that
limits throughput (the GIL is shared with every caller's thread), and one keep-alive
connection per gateway thread needs no pool.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from agentforge.llm.config import RetryPolicy
from agentforge.llm.spec import Endpoint

_CONNECT_TIMEOUT = 10.0
_TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class UpstreamFailure(Exception):
    """The upstream gave no usable answer; `status` is what the caller gets."""

    def __init__(self, status: int, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.response: Any = None  # backoff_delay looks for a Retry-After header here


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy from HTTPS_PROXY / HTTP_PROXY (NO_PROXY respected)."""

    host: str
    port: int
    headers: dict  # Proxy-Authorization when the proxy URL carries credentials

    @classmethod
    def from_environment(cls, scheme: str, host: str) -> Proxy | None:
        """The proxy the environment names for `scheme`, unless NO_PROXY exempts `host`."""
        proxies = getproxies_environment()  # *_proxy and *_PROXY, lowercase winning
        url = proxies.get(scheme)
        if not url or proxy_bypass_environment(host, proxies):
            return None
        parts = urlsplit(url if "://" in url else f"http://{url}")
        headers = {}
        if parts.username:
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(
                secret.encode()).decode()
        return cls(parts.hostname or "127.0.0.1", parts.port or 8080, headers)


class Upstream:
    """Sends chat requests to the real model server with its real credentials."""

    def __init__(self, endpoint: Endpoint, retry: RetryPolicy) -> None:
        self.endpoint = endpoint
        self.retry = retry
        parts = urlsplit(endpoint.base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.path = parts.path.rstrip("/") + "/chat/completions"
        self.url = endpoint.base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {endpoint.api_key}",
                        "Content-Type": "application/json", "Accept": "*/*"}
        self.proxy = Proxy.from_environment(parts.scheme, self.host)
        if self.proxy is not None and not self.https:
            # Plain HTTP through a proxy: the request names the whole URL.
            self.path = self.url
            self.headers.update(self.proxy.headers)
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl = ssl.create_default_context() if self.https else None

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()

    def failure(self, status: int | None, detail: str, retryable: bool) -> UpstreamFailure:
        """An UpstreamFailure whose message names the upstream."""
        where = f"the model server at {self.endpoint.base_url} (model {self.endpoint.model!r})"
        if self.proxy is not None:
            where += f" through the proxy {self.proxy.host}:{self.proxy.port}"
        code = {429: 429, None: 504}.get(status, 502)
        return UpstreamFailure(code, f"agentforge gateway: {where} {detail}", retryable)

    # -- requests --------------------------------------------------------------------------

    def post(self, payload: bytes) -> tuple[bytes, str, dict]:
        """One non-streaming request; returns (body, content type, parsed JSON)."""
        response = self._send(payload)
        try:
            body = response.read()
        except TimeoutError as exc:
            self._drop()
            raise self.failure(None, f"did not answer in time ({exc!r})", True) from exc
        except _TRANSPORT_ERRORS as exc:
            self._drop()
            raise self.failure(0, f"hung up mid-answer ({exc!r})", True) from exc
        self._check_status(response, body)
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise self.failure(response.status, f"sent invalid JSON ({exc}): {body[:200]!r}",
                               True) from exc
        return body, response.getheader("Content-Type", "application/json"), parsed

    @contextlib.contextmanager
    def stream(self, payload: bytes) -> Iterator[Iterator[bytes]]:
        """A streaming request: yields an iterator over the raw body as it arrives."""
        response = self._send(payload)
        if response.status >= 400:
            self._check_status(response, self._read_error_body(response))
        try:
            yield self._pieces(response)
        finally:
            if not response.isclosed():
                self._drop()  # stopped early: the connection is in an unknown state

    def _pieces(self, response: http.client.HTTPResponse) -> Iterator[bytes]:
        while True:
            try:
                data = response.read1(65536)
            except TimeoutError as exc:
                self._drop()
                raise self.failure(None, f"stopped answering mid-stream ({exc!r})",
                                   True) from exc
            except _TRANSPORT_ERRORS as exc:
                self._drop()
                raise self.failure(0, f"cut the stream short ({exc!r})", True) from exc
            if not data:
                return
            yield data

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, payload: bytes) -> http.client.HTTPResponse:
        """Send on this thread's connection; a stale keep-alive connection gets one redo."""
        for fresh in (False, True):
            reused = False
            try:
                connection = self._connection(fresh)
                reused = getattr(connection, "_agentforge_used", False)
                connection.request("POST", self.path, body=payload, headers=self.headers)
                response = connection.getresponse()
                connection._agentforge_used = True
                return response
            except TimeoutError as exc:
                self._drop()
                raise self.failure(None, f"did not answer in time ({exc!r})", True) from exc
            except _TRANSPORT_ERRORS as exc:
                self._drop()
                if reused and not fresh:
                    continue  # the server closed an idle connection: not a real failure
                raise self.failure(0, f"could not be reached or hung up ({exc!r})",
                                   True) from exc
        raise AssertionError("unreachable")

    def _check_status(self, response: http.client.HTTPResponse, body: bytes) -> None:
        status = response.status
        if status < 400:
            return
        retryable = status == 429 or status >= 500
        failure = self.failure(status, f"answered HTTP {status}: {body[:300]!r}", retryable)
        if not retryable:
            failure.status = status  # a 4xx is the caller's fault: pass it through
        failure.response = response
        raise failure

    def _read_error_body(self, response: http.client.HTTPResponse) -> bytes:
        try:
            return response.read()
        except _TRANSPORT_ERRORS:
            self._drop()
            return b""

    def _connection(self, fresh: bool) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is not None and not fresh:
            return connection
        if connection is not None:
            self._drop()
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (self.host, self.port)
        if self.https:
            connection = http.client.HTTPSConnection(host, port, timeout=_CONNECT_TIMEOUT,
                                                     context=self._ssl)
            if self.proxy is not None:  # TLS to the model server inside a CONNECT tunnel
                connection.set_tunnel(self.host, self.port, headers=self.proxy.headers)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=_CONNECT_TIMEOUT)
        connection.connect()
        connection.sock.settimeout(self.retry.timeout)
        if connection.sock.family in (socket.AF_INET, socket.AF_INET6):
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._local.connection = connection
        with self._lock:
            self._all.append(connection)
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        connection.close()
        self._local.connection = None
        with self._lock:
            if connection in self._all:
                self._all.remove(connection)
